"""The agent log pane: the agent's stdout/stderr file, shown live while visible."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textual.widgets import Log

TAIL_BYTES = 64 * 1024
POLL_S = 0.3


class AgentLogPane(Log):
    """Tails ``path`` (polling while displayed). Plain text: no markup is parsed."""

    def __init__(self, path: Path | None = None, **kwargs: Any) -> None:
        super().__init__(max_lines=5000, highlight=False, **kwargs)
        self.path = path
        self._offset: int | None = None
        self._partial = ""
        self._timer: Any = None

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
            self.path, self._offset, self._partial = path, None, ""
            self.clear()

    def poll(self) -> None:
        """Append what the log gained since the last poll (its tail, the first time)."""
        if self.path is None:
            if self._offset is None:
                self.write_line("(no agent log for this session)")
                self._offset = 0
            return
        try:
            size = os.path.getsize(self.path)
            if self._offset is None or size < self._offset:
                self._offset = max(0, size - TAIL_BYTES)
            if size == self._offset:
                return
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read(size - self._offset)
        except OSError:
            return
        self._offset += len(data)
        text = self._partial + data.decode("utf-8", "replace")
        lines = text.split("\n")
        self._partial = lines.pop()
        if lines:
            self.write_lines(lines)
