"""The agent-log lines written during one turn, for ``parley say --logs`` and for the
traceback ``say`` prints when a turn fails or a tool errors.

The daemon makes one :class:`TurnLog` per waiting ``say``. The session notes the agent
log's size when it hands the turn to the agent (``Turn.log_start``); from there the
follower reads what the agent writes. Why the log matters: a plain exception in a function
tool reaches the ``lk.agent.session`` protocol only as "An internal error occurred" (its
``function_tools_executed`` output, ``is_error``); livekit-agents logs the traceback
(``exception occurred while executing tool``) in the agent's own log, before it sends that
output, so it is in the file by the time the tool's result reaches parley.

Standard library only; no asyncio (the daemon calls it from its event loop: each read is
a ``stat`` and a small ``read``).
"""

from __future__ import annotations

import collections
import os
from pathlib import Path

from parley.app.agent.agentlog import LineSplitter, failure_lines

#: lines kept per turn to look for a traceback in (the newest ones)
KEEP_LINES = 5000
#: most bytes read in one go
READ_CHUNK = 1024 * 1024


class TurnLog:
    """Follows ``path`` from the byte offset given to :meth:`start`."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self.offset: int | None = None
        self._splitter = LineSplitter()
        self._lines: collections.deque[str] = collections.deque(maxlen=KEEP_LINES)
        self._searched = 0  # lines already searched for failures (index into all lines)
        self._total = 0  # lines read so far

    @property
    def started(self) -> bool:
        return self.offset is not None

    def start(self, offset: int) -> None:
        """Follow from byte ``offset`` (the log's size when the turn began)."""
        if self.offset is None:
            self.offset = offset

    def read(self, final: bool = False) -> list[str]:
        """The raw lines written since the last call ([] before :meth:`start`).
        ``final`` also returns an unfinished last line (at the end of the turn)."""
        if self.offset is None:
            return []
        new: list[str] = []
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                if size < self.offset:  # the file was replaced: start again
                    self.offset = 0
                f.seek(self.offset)
                while self.offset < size:
                    data = f.read(min(READ_CHUNK, size - self.offset))
                    if not data:
                        break
                    self.offset += len(data)
                    new += self._splitter.feed_bytes(data)
        except OSError:
            pass
        if final and self._splitter.partial:
            new.append(self._splitter.partial)
            self._splitter.partial = ""
        self._lines.extend(new)
        self._total += len(new)
        return new

    def new_failures(self) -> list[str]:
        """Reads what is new, then returns the raw lines of every failure (ERROR record,
        traceback; :func:`parley.app.agent.agentlog.failure_lines`) logged since the last call."""
        self.read()
        fresh = self._total - self._searched
        self._searched = self._total
        if fresh <= 0:
            return []
        return failure_lines(list(self._lines)[-fresh:])
