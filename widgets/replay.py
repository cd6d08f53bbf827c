"""Replay progress in the chat app: item i of n and the recorded time in the status
bar, a marker row at the end of the recording. Mixed into
:class:`parley.widgets.app.ParleyApp`; ``self`` is that app."""

from __future__ import annotations

from typing import Any

from parley.widgets.agents_pane import clock


class ReplayMixin:
    async def _replay_progress(self: Any) -> None:
        """During a replay (a backend with playback ``offsets``,
        :class:`parley.app.backend.ReplayBackend`): item i of n and its recorded time of
        the whole in the status bar; at the end a marker row and the state "replay finished"."""
        offsets = getattr(self.backend, "offsets", None)
        if not self.backend.is_replay or not offsets or self.replay_finished:
            return
        items = self.backend.items
        shown = min(self.items_seen, len(items))
        t0 = items[0].ts
        self.status.replay = (shown, len(items), items[shown - 1].ts - t0, items[-1].ts - t0)
        if shown == len(items):
            self.replay_finished = True
            self.status.state = "replay finished"
            recorded = items[-1].ts - t0
            await self.transcript.add_notice(
                f"■ End of the recording: {shown:,} items, {clock(recorded)[1:]} recorded. "
                "Ctrl+Q quits.",
                classes="end-of-recording",
            )
