"""The agent log pane: the agent's stdout/stderr file, shown live while visible.

While the pane is shown a worker follows the file (:func:`parley.app.agent.logfollow.follow`:
``watchfiles`` reports its changes, a truncated or replaced log is read again from its
start); every read happens in the I/O thread pool (:mod:`parley.widgets.threads`), never on
the UI loop. Hidden, the pane stops following and reads on from where it was when shown
again.

One row per log line: LiveKit's console writes ``\\n\\r`` line ends and ANSI colour
(``livekit/agents/cli/log.py``); lines are split as :func:`parley.app.agent.agentlog.split_lines`
does and rendered with :func:`parley.widgets.ansi.ansi_text` (colours kept, other escapes and
control characters made harmless, long lines cut).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.widgets import RichLog
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from parley.app.agent.logfollow import LogReader, follow
from parley.widgets.ansi import ansi_text
from parley.widgets.threads import in_thread

TAIL_BYTES = 64 * 1024
MAX_LINES = 5000


class AgentLogPane(RichLog):
    """Follows ``path`` while displayed (the file is read in a thread, never on the UI
    loop): its last lines first, then each line as it is written. No markup is parsed."""

    def __init__(self, path: Path | None = None, **kwargs: Any) -> None:
        super().__init__(max_lines=MAX_LINES, wrap=False, highlight=False, markup=False, **kwargs)
        self.path = path
        self._reader: LogReader | None = None  # of self.path, once its tail was read
        self._stop: asyncio.Event | None = None  # the current follower's
        self._follower: Worker[None] | None = None
        self._noted_missing = False
        #: the plain text of every line written (for tests and copying), oldest first
        self.plain_lines: list[str] = []

    @property
    def line_count(self) -> int:
        return len(self.plain_lines)

    def on_mount(self) -> None:
        self.border_title = "Agent log"

    def on_show(self) -> None:
        self._follow()

    def on_hide(self) -> None:
        self._unfollow()

    def on_unmount(self) -> None:
        self._unfollow()
        if self._reader is not None:  # in a thread: a read may hold it
            asyncio.ensure_future(in_thread(self._reader.close))
            self._reader = None

    def set_path(self, path: Path | None) -> None:
        if path != self.path:
            following = self._stop is not None and not self._stop.is_set()
            self._unfollow()
            if self._reader is not None:
                asyncio.ensure_future(in_thread(self._reader.close))
            self.path, self._reader, self._noted_missing = path, None, False
            self.plain_lines = []
            self.clear()
            if following:
                self._follow()

    def _follow(self) -> None:
        """Start following (after the previous follower, if any, has finished)."""
        if self._stop is not None and not self._stop.is_set():
            return  # already following
        stop = self._stop = asyncio.Event()
        self._follower = self.run_worker(
            self._run(self.path, stop, self._follower), group="agent-log", exit_on_error=False
        )

    def _unfollow(self) -> None:
        if self._stop is not None:
            self._stop.set()  # the follower reads once more, then ends

    async def _run(
        self, path: Path | None, stop: asyncio.Event, previous: Worker[None] | None
    ) -> None:
        if previous is not None:  # one follower reads at a time, in order
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await previous.wait()
        if stop.is_set() or path != self.path:
            return
        if path is None:
            if not self._noted_missing:
                self._noted_missing = True
                self._write_lines(["(no agent log for this session)"])
            return
        reader = self._reader
        try:
            if reader is None:
                reader = self._reader = LogReader(path)
                tail = await in_thread(reader.open_tail, TAIL_BYTES)
                if reader is self._reader:
                    self._write_lines(tail)

            def show(lines: list[str]) -> None:
                if reader is self._reader:  # else set_path switched files meanwhile
                    self._write_lines(lines)

            await follow(reader, show, stop, offload=in_thread)
        except OSError as e:
            if reader is self._reader:
                self._write_lines([f"(cannot follow the agent log: {e})"])

    def _write_lines(self, lines: list[str]) -> None:
        if not lines:
            return
        texts = [ansi_text(line) for line in lines]
        self.plain_lines.extend(t.plain for t in texts)
        del self.plain_lines[:-MAX_LINES]
        self.write(Text("\n").join(texts))
