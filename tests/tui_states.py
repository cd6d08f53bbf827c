"""States of the chat UI built from the recorded demo session
(testdata/recordings/demo-session.jsonl), spinners and cursor frozen, no live agent: the
snapshot tests (test_tui_snapshots.py) check them and docs/screenshots.py draws the README's
pictures from the very same states. No tests here.

Each ``*_app`` function builds a :class:`ParleyApp`; each ``async`` function of a pilot waits
until a state is on screen and its layout settled (a ``run_before`` for ``snap_compare``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from test_tui_support import RECORDING, recorded_app, rows, wait_until

from parley.app.backend import ItemsBackend, ReplayBackend
from parley.app.protocol import items as it
from parley.app.session.eventlog import read_log
from parley.widgets.app import ParleyApp, make_app
from parley.widgets.transcript import Transcript

__all__ = [
    "DeadAgent",
    "banner_shown",
    "crashed_app",
    "ended_app",
    "loaded",
    "recorded_app",
    "replay_app",
    "replay_finished",
    "settled",
    "slow_search_detail",
]


class DeadAgent(ItemsBackend):
    """The recorded session as a live one (not a replay), whose agent is gone."""

    is_replay = False

    async def agent_alive(self) -> bool:
        return False


def crashed_app(log_dir: Path) -> ParleyApp:
    """The recorded session, then the agent died (killed); its log (written to
    ``log_dir/agent.log``) ends with ``Killed``."""
    items = read_log(RECORDING).items
    last = items[-1]
    died = it.AgentError(
        message="the agent exited with code -9; see `parley logs`, end the session with "
        "`parley stop`",
        seq=last.seq + 1,
        ts=last.ts + 1,
    )
    log = log_dir / "agent.log"
    log.write_text("INFO livekit.agents starting worker\nKilled\n")
    return make_app(DeadAgent([*items, died], agent_log=log), title="demo.py", frozen=True)


def ended_app() -> ParleyApp:
    """The recorded session, then the person said goodbye and the agent ended the call."""
    items = read_log(RECORDING).items
    seq, ts = items[-1].seq, items[-1].ts
    tail_items: list[it.ChatItem] = [
        it.UserMessage(text="bye", turn_id="t10"),
        it.ToolCall(
            call_id="call_end",
            name="end_call",
            arguments="{}",
            turn_id="t10",
            status="done",
            output="say goodbye to the user",
            duration_ms=0.4,
            agent_id="concierge",
        ),  # fmt: skip
        it.AgentMessage(
            text="Goodbye, and have a great trip!", turn_id="t10", agent_id="concierge"
        ),  # fmt: skip
        it.TurnFinished(status="ok", turn_id="t10", duration_ms=21.0),
        it.AgentError(
            message="the agent closed the connection (it ended the call or stopped); "
            "see `parley logs`, end the session with `parley stop`"
        ),  # fmt: skip
    ]
    ended = [
        dataclasses.replace(i, seq=seq + n, ts=ts + n * 0.01)
        for n, i in enumerate(tail_items, start=1)
    ]
    return make_app(DeadAgent([*items, *ended]), title="demo.py", frozen=True)


def replay_app() -> ParleyApp:
    """The recorded session replayed instantly."""
    rec = read_log(RECORDING)
    backend = ReplayBackend(rec.items, speed=0, header=rec.header)
    return make_app(backend, title="REPLAY 20261122-142015-cd4857 (instant)", frozen=True)


async def settled(pilot: Any) -> None:
    """Wait until the transcript's layout and scroll position stop changing (the
    anchored view scrolls after the layout that follows a mount or a banner)."""
    transcript = pilot.app.transcript
    last = None
    for _ in range(50):
        await pilot.pause()
        now = (transcript.scroll_y, transcript.max_scroll_y, transcript.virtual_size)
        if now == last:
            break
        last = now
    # a scrollbar may still show its thumb from before the last layout: redraw it
    transcript.vertical_scrollbar.refresh()
    await pilot.pause()


async def loaded(pilot: Any) -> None:
    """Every item of the backend is on screen."""
    await wait_until(pilot, lambda: pilot.app.loaded.is_set(), what="items shown")
    await settled(pilot)


async def banner_shown(pilot: Any) -> None:
    """Loaded, and the banner (agent gone) is up."""
    await loaded(pilot)
    await wait_until(pilot, lambda: pilot.app.banner.display, what="banner")
    await settled(pilot)


async def slow_search_detail(pilot: Any) -> None:
    """Loaded, and the ``slow_search`` call opened (Enter on its row): its detail shows
    (over the transcript when the terminal is narrow)."""
    await loaded(pilot)
    transcript = pilot.app.transcript
    entry = next(e for e in rows(pilot.app, "tool") if e.block.title == "slow_search")
    transcript.post_message(Transcript.ToolSelected(entry.block.call_id))
    await settled(pilot)


async def replay_finished(pilot: Any) -> None:
    """A replay played to its end."""
    await wait_until(pilot, lambda: pilot.app.replay_finished, what="replay finished")
    await settled(pilot)
