"""The agent log pane: the agent's stdout/stderr file, shown live while visible.

One row per log line: LiveKit's console writes ``\\n\\r`` line ends and ANSI colour
(``livekit/agents/cli/log.py``); lines are split as :func:`parley.app.agent.agentlog.split_lines`
does and rendered with :func:`parley.widgets.ansi.ansi_text` (colours kept, other escapes and
control characters made harmless, long lines cut).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from parley.app.agent.agentlog import LineSplitter, read_tail
from parley.widgets.ansi import ansi_text
from parley.widgets.threads import in_thread

TAIL_BYTES = 64 * 1024
POLL_S = 0.3
MAX_LINES = 5000


def read_from(path: Path, offset: int | None) -> tuple[int, list[str] | bytes]:
    """What a log file gained since byte ``offset``: ``(size, bytes after offset)``;
    or, the first time (``offset`` is ``None``) and after the file shrank (a new
    log), ``(size, its last lines)``. Raises ``OSError``."""
    size = os.path.getsize(path)
    if offset is None or size < offset:
        return size, read_tail(path, TAIL_BYTES, end=size)
    if size == offset:
        return size, b""
    with open(path, "rb") as f:
        f.seek(offset)
        return size, f.read(size - offset)


class AgentLogPane(RichLog):
    """Tails ``path`` (polling while displayed; the file is read in a thread, never on
    the UI loop). No markup is parsed."""

    def __init__(self, path: Path | None = None, **kwargs: Any) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, highlight=False, markup=False, **kwargs)
        self.path = path
        self._offset: int | None = None
        self._splitter = LineSplitter()
        self._timer: Any = None
        self._polling = asyncio.Lock()  # one read at a time (the timer, on_show)
        #: the plain text of every line written (for tests and copying), oldest first
        self.plain_lines: list[str] = []

    @property
    def line_count(self) -> int:
        return len(self.plain_lines)

    def on_mount(self) -> None:
        self.border_title = "Agent log"
        self._timer = self.set_interval(POLL_S, self.poll, pause=not self.display)

    async def on_show(self) -> None:
        await self.poll()
        if self._timer is not None:
            self._timer.resume()

    def on_hide(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def set_path(self, path: Path | None) -> None:
        if path != self.path:
            self.path, self._offset = path, None
            self._splitter = LineSplitter()
            self.plain_lines = []
            self.clear()

    async def poll(self) -> None:
        """Append what the log gained since the last poll (its tail, the first time)."""
        async with self._polling:
            path, offset = self.path, self._offset
            if path is None:
                if offset is None:
                    self._write_lines(["(no agent log for this session)"])
                    self._offset = 0
                return
            try:
                size, new = await in_thread(read_from, path, offset)
            except OSError:
                return
            if path != self.path or offset != self._offset:
                return  # set_path switched files while reading
            if isinstance(new, list):  # the first read, or a new file
                self._offset = size
                self._splitter = LineSplitter()
                self._write_lines(new)
                return
            assert offset is not None  # bytes come only after a first read
            self._offset = offset + len(new)
            self._write_lines(self._splitter.feed_bytes(new))

    def _write_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        texts = [ansi_text(line) for line in lines]
        self.plain_lines.extend(t.plain for t in texts)
        del self.plain_lines[:-MAX_LINES]
        self.write(Text("\n").join(texts))
