"""Replay progress in the chat app: item i of n and the recorded time in the status
bar, a marker row at the end of the recording. Mixed into
:class:`parley.widgets.app.ParleyApp`; ``self`` is that app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from parley.app.backend import ReplayBackend
from parley.widgets.agents_pane import clock

if TYPE_CHECKING:
    from parley.widgets.host import ChatAppHost


class ReplayMixin:
    async def _replay_progress(self: ChatAppHost) -> None:
        """During a replay (a :class:`parley.app.backend.ReplayBackend` with playback
        ``offsets``): item i of n and its recorded time of the whole in the status bar;
        at the end a marker row and the state "replay finished"."""
        backend = self.backend
        if not isinstance(backend, ReplayBackend) or not backend.offsets or self.replay_finished:
            return
        items = backend.items
        shown = min(self.items_seen, len(items))
        t0 = items[0].ts
        self.status.replay = (shown, len(items), items[shown - 1].ts - t0, items[-1].ts - t0)
        if shown == len(items):
            self.replay_finished = True
            self.status.state = "replay finished"
            recorded = items[-1].ts - t0
            self.transcript.add_notice(
                f"■ End of the recording: {shown:,} items, {clock(recorded)[1:]} recorded. "
                "Ctrl+Q quits.",
                classes="end-of-recording",
            )
