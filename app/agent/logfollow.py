"""Following a log file as it grows: ``parley logs -f`` and the chat UI's agent log pane.

:class:`LogReader` reads the lines a file gained since its last read (blocking, standard
library). It keeps the file open and notices when the file was

- truncated (smaller than what was read: read again from its start),
- replaced (renamed away by a log rotation, or deleted and created again: the rest of
  the old file, then the new one from its start),
- deleted (the rest of the old file; the new one once it exists).

:func:`follow` waits for changes with ``watchfiles`` (the library watch mode uses:
inotify on Linux, FSEvents, ReadDirectoryChangesW) on the file's directory, not on the
file, so a replaced file is seen too; each batch of changes is one read, and there is no
timer of parley's own. Lines are split as :class:`parley.app.agent.agentlog.LineSplitter`
splits them (LiveKit's ``\\n\\r`` line ends); a partial last line waits for its end, or
for the file to be replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable
from pathlib import Path
from typing import IO, TypeVar

from parley.app.agent.agentlog import LineSplitter, split_lines

T = TypeVar("T")

#: how much :meth:`LogReader.read` reads per system call, bytes
CHUNK = 1024 * 1024
#: ``watchfiles``' grouping of changes: a batch is read once no change came for STEP_MS
#: milliseconds, at most DEBOUNCE_MS after the first (an agent logging without pause is
#: still shown every DEBOUNCE_MS)
STEP_MS = 20
DEBOUNCE_MS = 200


class LogReader:
    """The new lines of the log file at ``path``, read by :meth:`read`.

    ``offset``: where reading starts in the file as it is now (``None``: at its end,
    when it is first opened; a file that does not exist yet is read from its start once
    it does). Thread-safe: one read at a time.
    """

    def __init__(self, path: Path, offset: int | None = None) -> None:
        self.path = path
        self._start = offset
        self._file: IO[bytes] | None = None
        self._id: tuple[int, int] | None = None  # (st_dev, st_ino) of the open file
        self._offset = 0
        self._splitter = LineSplitter()
        self._lock = threading.Lock()

    def open_tail(self, max_bytes: int) -> list[str]:
        """Open the file and return the raw lines of its last ``max_bytes`` (the first
        line dropped when that starts mid-file); :meth:`read` goes on from its end.
        [] when the file does not exist (:meth:`read` then starts with it once it
        does). Raises ``OSError`` when the file cannot be read."""
        with self._lock:
            self._start = None
            if not self._open():
                return []
            assert self._file is not None
            end = self._offset
            start = max(0, end - max_bytes)
            self._file.seek(start)
            data = self._file.read(end - start)
            self._file.seek(end)
            lines = split_lines(data.decode("utf-8", "replace"))
            return lines[1:] if start > 0 and lines else lines

    def read(self) -> list[str]:
        """The complete lines written since the last read (raw: escape codes kept),
        oldest first. Raises ``OSError`` when the file exists but cannot be read."""
        with self._lock:
            out: list[str] = []
            if self._file is None and not self._open():
                return out
            assert self._file is not None
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None  # deleted (or renamed away): what it still has, then wait
            if st is not None and (st.st_dev, st.st_ino) != self._id:
                out += self._drain()  # replaced: the end of the old file first
                out += self._flush()
                self._close()
                self._start = 0
                if self._open():
                    out += self._drain()
                return out
            if os.fstat(self._file.fileno()).st_size < self._offset:  # truncated
                out += self._flush()
                self._file.seek(0)
                self._offset = 0
            out += self._drain()
            return out

    def close(self) -> None:
        with self._lock:
            self._close()

    def _open(self) -> bool:
        try:
            f = open(self.path, "rb")  # noqa: SIM115 - kept open across reads
        except FileNotFoundError:
            self._start = 0  # created later: all of it is new
            return False
        st = os.fstat(f.fileno())
        self._file, self._id = f, (st.st_dev, st.st_ino)
        self._offset = f.seek(0, os.SEEK_END) if self._start is None else f.seek(self._start)
        self._splitter = LineSplitter()
        return True

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._file = self._id = None

    def _drain(self) -> list[str]:
        assert self._file is not None
        out: list[str] = []
        while chunk := self._file.read(CHUNK):
            self._offset += len(chunk)
            out += self._splitter.feed_bytes(chunk)
        return out

    def _flush(self) -> list[str]:
        """The partial last line of a file that will not be continued."""
        line, self._splitter = self._splitter.partial, LineSplitter()
        return [line] if line else []


async def _to_thread(fn: Callable[[], T]) -> T:
    return await asyncio.to_thread(fn)


async def follow(
    reader: LogReader,
    on_lines: Callable[[list[str]], object],
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
    offload: Callable[[Callable[[], list[str]]], Awaitable[list[str]]] = _to_thread,
) -> None:
    """Pass the lines ``reader``'s file gains to ``on_lines`` (on the running loop, in
    order, never an empty list) until ``stop`` is set; then read once more and return.

    The file is read by ``offload`` (default: a thread of ``asyncio.to_thread``; the
    chat UI passes its I/O pool), never on the loop. ``ready`` is set once the watch is
    in place (a line written after it is seen). Raises ``OSError`` when the directory
    cannot be watched (e.g. the OS limit of watches) or the file cannot be read.
    """

    async def read() -> None:
        lines = await offload(reader.read)
        if lines:
            on_lines(lines)

    async with contextlib.aclosing(file_changes(reader.path, stop)) as changes:
        async for _ in changes:
            if ready is not None:
                ready.set()
            await read()  # what came before the watch, then each batch
    await read()  # stopped: what came last


async def file_changes(path: Path, stop: asyncio.Event) -> AsyncGenerator[None, None]:
    """Yields once the watch on ``path`` is in place (a change after that is
    reported), then once per batch of changes to it (written, truncated, created,
    deleted, renamed), until ``stop`` is set. The file's directory is watched, not the
    file, so a file replaced or created later is seen. Raises ``OSError`` when the
    directory cannot be watched (missing, the OS limit of watches)."""
    from watchfiles import awatch

    target = os.path.normcase(os.path.abspath(path))

    def ours(_change: object, changed: str) -> bool:
        return os.path.normcase(os.path.abspath(changed)) == target

    changes = awatch(
        path.parent,
        watch_filter=ours,
        debounce=DEBOUNCE_MS,
        step=STEP_MS,
        stop_event=stop,
        recursive=False,
    )
    async with contextlib.aclosing(watch_batches(changes)) as batches:
        async for _ in batches:
            yield


Batch = TypeVar("Batch")


async def watch_batches(changes: AsyncGenerator[Batch, None]) -> AsyncGenerator[Batch | None, None]:
    """The batches of a ``watchfiles.awatch`` generator, after a first ``None`` once
    its OS watch is in place (a change after that is reported): the generator's first
    step creates the watch (RustNotify) before it waits for changes in a thread, so
    that step is started before the ``None``. Ends when ``changes`` does (its
    ``stop_event``); closes it. Raises what creating the watch raised (``OSError``:
    a missing directory, the OS limit of watches)."""
    pending = asyncio.ensure_future(changes.__anext__())
    try:
        await asyncio.sleep(0)
        if pending.done() and pending.exception() is not None:
            pending.result()  # the watch could not start
        yield None
        while True:
            try:
                batch = await pending
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(changes.__anext__())
            yield batch
    finally:
        pending.cancel()
        with contextlib.suppress(BaseException):
            await pending
        with contextlib.suppress(Exception):
            await changes.aclose()
