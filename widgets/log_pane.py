"""The agent log pane: the agent's stdout/stderr file, shown live while visible.

One row per log line: LiveKit's console writes ``\\n\\r`` line ends and ANSI colour
(``livekit/agents/cli/log.py``); lines are split as :func:`parley.app.agent.agentlog.split_lines`
does and rendered with :func:`parley.widgets.ansi.ansi_text` (colours kept, other escapes and
control characters made harmless, long lines cut).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from parley.app.agent.agentlog import LineSplitter, read_tail
from parley.widgets.ansi import ansi_text

TAIL_BYTES = 64 * 1024
POLL_S = 0.3
MAX_LINES = 5000


class AgentLogPane(RichLog):
    """Tails ``path`` (polling while displayed). No markup is parsed."""

    def __init__(self, path: Path | None = None, **kwargs: Any) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, highlight=False, markup=False, **kwargs)
        self.path = path
        self._offset: int | None = None
        self._splitter = LineSplitter()
        self._timer: Any = None
        #: the plain text of every line written (for tests and copying), oldest first
        self.plain_lines: list[str] = []

    @property
    def line_count(self) -> int:
        return len(self.plain_lines)

    def on_mount(self) -> None:
        self.border_title = "Agent log"
        self._timer = self.set_interval(POLL_S, self.poll, pause=not self.display)

    def on_show(self) -> None:
        self.poll()
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

    def poll(self) -> None:
        """Append what the log gained since the last poll (its tail, the first time)."""
        if self.path is None:
            if self._offset is None:
                self._write_lines(["(no agent log for this session)"])
                self._offset = 0
            return
        try:
            size = os.path.getsize(self.path)
        except OSError:
            return
        if self._offset is None or size < self._offset:
            self._offset = size
            self._splitter = LineSplitter()
            self._write_lines(read_tail(self.path, TAIL_BYTES, end=size))
            return
        if size == self._offset:
            return
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read(size - self._offset)
        except OSError:
            return
        self._offset += len(data)
        self._write_lines(self._splitter.feed_bytes(data))

    def _write_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        texts = [ansi_text(line) for line in lines]
        self.plain_lines.extend(t.plain for t in texts)
        del self.plain_lines[:-MAX_LINES]
        self.write(Text("\n").join(texts))
