"""Reloading a session's agent in place (watch mode, see :mod:`parley.app.session.watch`).

A reload boots the new agent *beside* the old one, on a listener of its own, and
swaps them only once the new one is connected in text mode; so a save with a syntax
error (or any agent that fails to boot) leaves the previous agent running and the
session intact: every client sees a ``reload`` item with the error, and the next save
tries again. The swap itself is synchronous on the event loop:

1. the old engine goes quiet (its late items are dropped);
2. the turn running at that moment ends as ``error``: "the agent was reloaded";
3. a ``reload`` item (changed files, new pid, how long it took), then what the new agent
   said while booting, continue the session's numbering;
4. queued turns, held while the new agent booted, go to the new agent.

The old agent is stopped afterwards. With a :class:`parley.app.agent.spare.Spare` (Python agents)
the new agent is an interpreter that has already imported livekit-agents; the next
spare is started once the swap is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from parley.app.agent.agentlog import tail
from parley.app.agent.engine import EngineError, SessionEngine
from parley.app.agent.launcher import spawn_agent, stop_process_group
from parley.app.agent.spare import Spare, interpreter, supports
from parley.app.protocol import items as it
from parley.app.protocol.shapes import AgentInfo
from parley.app.session.session import Session

log = logging.getLogger("parley.reload")

RELOADED = "the agent was reloaded ({files}) while this turn ran; send it again"


class Reloader:
    """Reloads ``session``'s agent on demand. ``warm``: keep a spare interpreter
    (Python agents only). ``last_error`` holds the error of the last reload (``None``
    once one succeeds), for ``status``."""

    def __init__(self, session: Session, warm: bool = True, connect_timeout: float = 60.0):
        self.session = session
        self.connect_timeout = connect_timeout
        self.warm = warm and supports(session.spec)
        self.spare: Spare | None = None
        self.last_error: str | None = None
        self.reloads = 0
        self.closed = False
        self._retiring: set[asyncio.Task[None]] = set()
        #: called after each swap (the daemon updates its state file)
        self.on_swap: Callable[[], None] | None = None
        self._lock = asyncio.Lock()

    async def prepare(self) -> None:
        """Start the spare for the next reload (a no-op when not warm)."""
        if self.warm and not self.closed and (self.spare is None or not self.spare.alive):
            s = self.session
            spare = await asyncio.to_thread(Spare, s.spec, s.agent_log)
            if self.closed:  # closed while it was starting
                await asyncio.to_thread(spare.discard)
                return
            try:
                spare.watch()  # here on the loop's thread, which outlives the worker's
            except OSError as e:  # unguarded, it would outlive a killed daemon: not used
                log.warning("no watchdog for the spare interpreter: %s", e)
                await asyncio.to_thread(spare.discard)
                return
            self.spare = spare

    async def close(self) -> None:
        """End the spare, if any, and wait for replaced agents to be stopped; no new
        spare starts after this."""
        self.closed = True
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        if self.spare is not None:
            spare, self.spare = self.spare, None
            await asyncio.to_thread(spare.discard)

    async def reload(self, files: list[str], detected: float | None = None) -> it.Reload:
        """Reload the agent because ``files`` (relative paths) changed; ``detected``
        is when the change was seen (``time.monotonic()``). Returns the ``reload`` item
        it emitted. Never raises for a failing agent: that is the item's ``error``."""
        async with self._lock:
            return await self._reload(files, detected or time.monotonic())

    async def _reload(self, files: list[str], t0: float) -> it.Reload:
        s = self.session
        python = interpreter(s.spec)
        problem = None
        if python is not None:  # Node agents: the boot reports a broken file
            problem = await asyncio.to_thread(syntax_error, python, s.spec.project, files)
        if problem is not None:
            return self._failed(files, problem)
        buffer: list[it.ChatItem] = []
        new = SessionEngine(buffer.append)
        s.reloading = True  # queued turns wait for the new agent
        proc: subprocess.Popen[bytes] | None = None
        try:
            port = await new.listen()
            spare, self.spare = self.spare, None
            warm = False
            if spare is not None:
                proc = spare.launch(port)
                warm = proc is not None
            if proc is None:
                proc = spawn_agent(s.spec, port, s.agent_log)
            try:
                await new.connect(proc, str(s.agent_log), self.connect_timeout)
                info = await new.agent_info()
            except (EngineError, OSError) as e:
                await new.close()
                await asyncio.to_thread(_stop, proc)
                detail = getattr(e, "log_tail", "") or tail(s.agent_log, 15)
                item = self._failed(files, _plain(f"{e}\n{detail}".strip()))
            else:
                item = self._swap(new, proc, info, files, buffer, t0, warm)
        except BaseException:  # cancelled (the session stops) mid-boot: leave nothing
            if proc is not None and s.proc is not proc:
                _stop(proc)
            with contextlib.suppress(Exception):
                await new.close()
            raise
        finally:
            s.reloading = False
            s._wake.set()
        await self.prepare()
        return item

    def _failed(self, files: list[str], error: str) -> it.Reload:
        self.last_error = error
        log.warning("reload failed: %s", error)
        return self.session.engine.emit(it.Reload(files=files, error=error))

    def _swap(
        self,
        new: SessionEngine,
        proc: subprocess.Popen[bytes],
        info: AgentInfo,
        files: list[str],
        buffer: list[it.ChatItem],
        t0: float,
        warm: bool,
    ) -> it.Reload:
        """Replace the session's agent by ``new`` (no awaits: atomic on the loop)."""
        s = self.session
        old, old_proc = s.engine, s.proc
        old.set_sink(None)
        next_seq = s.items[-1].seq + 1 if s.items else 1
        new.set_sink(s._on_item, next_seq)
        running = s.running
        if running is not None and not running.done.done():
            end = new.emit(
                it.TurnFinished(
                    status="error",
                    error=RELOADED.format(files=", ".join(files) or "sources"),
                    turn_id=running.turn_id,
                )
            )
            running.done.set_result(end)
        ms = round((time.monotonic() - t0) * 1000, 1)
        item = new.emit(it.Reload(files=files, agent_pid=proc.pid, duration_ms=ms, warm=warm))
        for early in buffer:  # what the new agent said before the swap, renumbered
            new.emit(dataclasses.replace(early, seq=0, turn_id=None), early.ts)
        s.engine, s.proc, s.agent_info = new, proc, info
        s.agent_boot_ms = ms
        for n, task in enumerate(s._tasks):
            if task.get_name() == "parley-watch":
                task.cancel()
                s._tasks[n] = asyncio.create_task(s._watch_agent(), name="parley-watch")
        self.last_error = None
        self.reloads += 1
        log.info("reloaded (%s) in %.0f ms, warm=%s", ", ".join(files), ms, warm)
        if self.on_swap is not None:
            self.on_swap()
        retire = asyncio.get_running_loop().create_task(_retire(old, old_proc))
        self._retiring.add(retire)
        retire.add_done_callback(self._retiring.discard)
        return item


async def _retire(old: SessionEngine, proc: subprocess.Popen[bytes] | None) -> None:
    with contextlib.suppress(Exception):
        await old.close()
    if proc is not None:
        await asyncio.to_thread(_stop, proc)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        stop_process_group(proc.pid)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _plain(text: str) -> str:
    """A log tail without ANSI colours and with LiveKit's ``\\n\\r`` line ends."""
    return _ANSI.sub("", text).replace("\r", "")


_CHECK = (
    "import sys\n"
    "for f in sys.argv[1:]:\n"
    "    try:\n"
    "        compile(open(f, 'rb').read(), f, 'exec', dont_inherit=True)\n"
    "    except SyntaxError as e:\n"
    "        import traceback; traceback.print_exception_only(type(e), e); sys.exit(1)\n"
)


def syntax_error(python: list[str], project: Path, files: list[str]) -> str | None:
    """The first syntax error in the changed Python ``files`` (relative to
    ``project``), as Python prints it, or ``None``. Compiled by the agent's own
    interpreter (its Python version decides what is valid): in-process when that is
    parley's interpreter, else in a small subprocess (no imports)."""
    paths = [str(project / f) for f in files if f.endswith(".py") and (project / f).is_file()]
    if not paths or not python:  # no Python (a Node agent): the boot will tell
        return None
    if python == [sys.executable]:
        import traceback

        for path in paths:
            try:
                with open(path, "rb") as fh:
                    compile(fh.read(), path, "exec", dont_inherit=True)
            except SyntaxError as e:
                return "".join(traceback.format_exception_only(type(e), e)).rstrip()
            except OSError:
                continue
        return None
    try:
        out = subprocess.run(
            [*python, "-c", _CHECK, *paths], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None  # the boot will tell
    return out.stderr.strip() or "syntax error" if out.returncode else None
