"""Snapshot tests of the main screen on a recorded demo session
(testdata/recordings/demo-session.jsonl): fixed terminal size, spinners and cursor
frozen, no live agent. Update with `pytest tests/test_tui_snapshots.py --snapshot-update`
after checking the new look by eye."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from test_tui_support import RECORDING, SIZE, recorded_app, wait_until

from parley.app.backend import ItemsBackend
from parley.app.protocol import items as it
from parley.app.session.eventlog import read_log
from parley.app.session.replay import ReplayBackend
from parley.widgets.app import make_app
from parley.widgets.rows import ToolRow


async def loaded(pilot: Any) -> None:
    await wait_until(pilot, lambda: pilot.app.loaded.is_set(), what="items shown")
    await settled(pilot)


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


def test_main_screen_end_of_session(snap_compare: Any) -> None:
    """Transcript end: tool calls, a cancelled turn with a late tool result, two
    handoffs; the tool pane lists every call; the agents pane the timeline."""
    assert snap_compare(recorded_app(title="demo.py"), terminal_size=SIZE, run_before=loaded)


def test_failed_tool_selected(snap_compare: Any) -> None:
    """The failed booking lookup selected: its detail in the tool pane; the transcript
    scrolled back to it, with the model failure's error rows below."""

    async def select_failed(pilot: Any) -> None:
        await loaded(pilot)
        app = pilot.app
        row = next(r for r in app.query(ToolRow) if r.item.status == "error")
        app.transcript.scroll_to_widget(row, animate=False, top=True)
        row.post_message(ToolRow.Selected(row.item.call_id))
        await settled(pilot)

    assert snap_compare(recorded_app(title="demo.py"), terminal_size=SIZE, run_before=select_failed)


class DeadAgent(ItemsBackend):
    """The recorded session, then the agent died."""

    async def agent_alive(self) -> bool:
        return False


def test_crash_banner(snap_compare: Any, tmp_path: Path) -> None:
    """The agent died: a banner with the log's tail and the restart key."""
    items = read_log(RECORDING).items
    last = items[-1]
    died = it.AgentError(
        message="the agent exited with code -9; see its log with `parley logs`",
        seq=last.seq + 1,
        ts=last.ts + 1,
    )
    log = tmp_path / "agent.log"
    log.write_text("INFO livekit.agents starting worker\nKilled\n")
    backend = DeadAgent([*items, died], agent_log=log)
    backend.is_replay = False  # a live session, as far as the app knows
    app = make_app(backend, title="demo.py", frozen=True)

    async def crashed(pilot: Any) -> None:
        await loaded(pilot)
        await wait_until(pilot, lambda: pilot.app.banner.display, what="banner")
        await settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=crashed)


def test_light_theme(snap_compare: Any) -> None:
    """The same screen in a light theme: looks come from theme variables."""

    async def light(pilot: Any) -> None:
        pilot.app.theme = "textual-light"
        await loaded(pilot)

    assert snap_compare(recorded_app(title="demo.py"), terminal_size=SIZE, run_before=light)


def test_long_session_is_windowed(snap_compare: Any) -> None:
    """A session longer than the window: the oldest rows are not mounted and the
    "earlier items" button says how many."""
    base = read_log(RECORDING).items
    items: list[it.ChatItem] = []
    span = base[-1].ts - base[0].ts + 60
    for copy in range(5):  # 5 x 31 rows: more than the window of 60
        for i in base:
            changes: dict[str, Any] = {"seq": len(items) + 1, "ts": i.ts + copy * span}
            if isinstance(i, it.ToolCall):
                changes["call_id"] = f"{i.call_id}-{copy}"
            items.append(dataclasses.replace(i, **changes))
    app = make_app(ItemsBackend(items), title="demo.py", frozen=True)

    async def top(pilot: Any) -> None:
        await loaded(pilot)
        pilot.app.transcript.scroll_home(animate=False)
        await settled(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=top)


# -- the main states at the two sizes people use (issue 11) ---------------------------

SIZES = {"80x24": (80, 24), "140x45": (140, 45)}
sizes = pytest.mark.parametrize("size", list(SIZES.values()), ids=list(SIZES))


@sizes
def test_chat(snap_compare: Any, size: tuple[int, int]) -> None:
    """The end of the recorded demo session."""
    assert snap_compare(recorded_app(title="demo.py"), terminal_size=size, run_before=loaded)


@sizes
def test_tool_detail(snap_compare: Any, size: tuple[int, int]) -> None:
    """Enter on a tool call in the transcript: its detail (over the transcript when
    the terminal is narrow)."""

    async def detail(pilot: Any) -> None:
        await loaded(pilot)
        app = pilot.app
        row = next(r for r in app.query(ToolRow) if r.item.name == "slow_search")
        row.post_message(ToolRow.Selected(row.item.call_id))
        await settled(pilot)

    assert snap_compare(recorded_app(title="demo.py"), terminal_size=size, run_before=detail)


def crashed_app(tmp_path: Path) -> Any:
    items = read_log(RECORDING).items
    last = items[-1]
    died = it.AgentError(
        message="the agent exited with code -9; see `parley logs`, end the session with "
        "`parley stop`",
        seq=last.seq + 1,
        ts=last.ts + 1,
    )
    log = tmp_path / "agent.log"
    log.write_text("INFO livekit.agents starting worker\nKilled\n")
    backend = DeadAgent([*items, died], agent_log=log)
    backend.is_replay = False
    return make_app(backend, title="demo.py", frozen=True)


async def banner_shown(pilot: Any) -> None:
    await loaded(pilot)
    await wait_until(pilot, lambda: pilot.app.banner.display, what="banner")
    await settled(pilot)


@sizes
def test_crash(snap_compare: Any, size: tuple[int, int], tmp_path: Path) -> None:
    """The agent died: the banner with the log's tail and the restart key."""
    assert snap_compare(crashed_app(tmp_path), terminal_size=size, run_before=banner_shown)


@sizes
def test_end_of_call(snap_compare: Any, size: tuple[int, int]) -> None:
    """The agent said goodbye and ended the call: no crash banner."""
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
    backend = DeadAgent([*items, *ended])
    backend.is_replay = False
    app = make_app(backend, title="demo.py", frozen=True)
    assert snap_compare(app, terminal_size=size, run_before=banner_shown)


@sizes
def test_replay(snap_compare: Any, size: tuple[int, int]) -> None:
    """A finished replay: progress in the status bar, the end-of-recording marker,
    no cancel or restart keys."""
    rec = read_log(RECORDING)
    backend = ReplayBackend(rec.items, speed=0, header=rec.header)
    app = make_app(backend, title="REPLAY 20261122-142015-cd4857 (instant)", frozen=True)

    async def finished(pilot: Any) -> None:
        await wait_until(pilot, lambda: pilot.app.replay_finished, what="replay finished")
        await settled(pilot)

    assert snap_compare(app, terminal_size=size, run_before=finished)
