"""Waiting for processes to exit without polling them.

On Linux (5.3+) a process's exit is an event: ``os.pidfd_open`` gives a descriptor that
turns readable when the process exits (it is then a zombie or gone), and a descriptor
can be awaited by the event loop (``loop.add_reader``) or by ``select.poll``. Elsewhere
(macOS, BSD, a kernel or sandbox without pidfd) the same functions check each process
every 20 ms (a per-process check, never a scan of the process table).

A zombie counts as exited everywhere: a process whose parent does not reap it (an
orphan under a container's pid 1 that never waits) holds no resources that matter and
never runs again. Nothing here reaps a process: a ``subprocess.Popen`` keeps its exit
code for ``poll()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import subprocess
import time
from collections.abc import Iterable

import psutil

__all__ = ["exited", "pid_exited", "running", "wait_exit"]

#: how often a process is checked where its exit cannot be awaited (seconds)
CHECK_EVERY = 0.02


def running(pid: int) -> bool:
    """Whether ``pid`` is a process that has not exited (a zombie has)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # not ours to inspect, but there
        return True


def _pidfd(pid: int) -> int | None:
    """A pidfd for ``pid``; ``-1`` when there is no such process; ``None`` when pidfds
    are not available here."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except ProcessLookupError:
        return -1
    except OSError:  # ENOSYS, EPERM under seccomp, EMFILE...
        return None
    return fd


def wait_exit(pids: Iterable[int], timeout: float | None) -> set[int]:
    """Block until every process of ``pids`` has exited, or ``timeout`` seconds
    (``None``: no limit). Returns the pids still running (empty when all exited).

    Linux: one ``poll`` on the processes' pidfds; elsewhere a check of each process
    every :data:`CHECK_EVERY` seconds.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    fds: dict[int, int] = {}
    checked: set[int] = set()
    try:
        for pid in set(pids):
            fd = _pidfd(pid)
            if fd is None:
                checked.add(pid)
            elif fd >= 0:
                fds[fd] = pid
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        while True:
            checked = {p for p in checked if running(p)}
            if not fds and not checked:
                return set()
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return checked | set(fds.values())
            wait = left if not checked else min(CHECK_EVERY, left or CHECK_EVERY)
            for fd, _ in poller.poll(None if wait is None else max(0, int(wait * 1000) + 1)):
                poller.unregister(fd)
                os.close(fd)
                del fds[fd]
    finally:
        for fd in fds:
            os.close(fd)


async def exited(proc: subprocess.Popen[bytes]) -> int | None:
    """Wait until the child ``proc`` exits; its exit code (``proc.returncode``, or
    ``None`` when something else reaped it).

    Linux: awaits the process's pidfd on the running loop (no thread, no timer);
    elsewhere checks ``proc.poll()`` every :data:`CHECK_EVERY` seconds.
    """
    if proc.poll() is not None:
        return proc.returncode
    fd = _pidfd(proc.pid)
    if fd is None:
        while proc.poll() is None:
            await asyncio.sleep(CHECK_EVERY)
        return proc.returncode
    if fd >= 0:
        await _readable(fd)
    # exited: reap it (poll() answers None while another thread holds Popen's lock,
    # e.g. a proc.wait() in a worker thread, which then reaps it at once)
    while proc.poll() is None:
        if not running(proc.pid):
            with contextlib.suppress(subprocess.TimeoutExpired):
                await asyncio.to_thread(proc.wait, 1)
        else:  # pragma: no cover - the pidfd said it exited
            await asyncio.sleep(CHECK_EVERY)
    return proc.returncode


async def pid_exited(pid: int) -> None:
    """Wait until the process ``pid`` (any process, not only a child) has exited; a
    zombie counts as exited. Reaps nothing.

    Linux: awaits the process's pidfd on the running loop (no thread, no timer);
    elsewhere checks the process every :data:`CHECK_EVERY` seconds.
    """
    fd = _pidfd(pid)
    if fd is None:
        while running(pid):
            await asyncio.sleep(CHECK_EVERY)
        return
    if fd >= 0:
        await _readable(fd)


async def _readable(fd: int) -> None:
    """Wait until the pidfd ``fd`` turns readable (its process exited), then close it."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:
        if not readable.done():
            readable.set_result(None)

    try:
        loop.add_reader(fd, on_exit)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
    finally:
        os.close(fd)
