"""Snapshot tests of the main screen on a recorded demo session
(testdata/recordings/demo-session.jsonl): fixed terminal size, spinners and cursor
frozen, no live agent. Update with `pytest tests/test_tui_snapshots.py --snapshot-update`
after checking the new look by eye."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from test_tui_support import RECORDING, SIZE, rows
from tui_states import (
    DeadAgent,
    banner_shown,
    crashed_app,
    ended_app,
    loaded,
    recorded_app,
    replay_app,
    replay_finished,
    settled,
    slow_search_detail,
)

from parley.app.backend import ItemsBackend
from parley.app.protocol import items as it
from parley.app.session.eventlog import read_log
from parley.widgets.app import make_app
from parley.widgets.transcript import Transcript


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
        transcript = app.transcript
        entry = next(e for e in rows(app, "tool") if e.block.failed)
        transcript.scroll_to_entry(entry, top=True)
        transcript.post_message(Transcript.ToolSelected(entry.block.call_id))
        await settled(pilot)

    assert snap_compare(recorded_app(title="demo.py"), terminal_size=SIZE, run_before=select_failed)


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
    app = make_app(DeadAgent([*items, died], agent_log=log), title="demo.py", frozen=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=banner_shown)


def test_light_theme(snap_compare: Any) -> None:
    """The same screen in a light theme: looks come from theme variables."""

    async def light(pilot: Any) -> None:
        pilot.app.theme = "textual-light"
        await loaded(pilot)

    assert snap_compare(recorded_app(title="demo.py"), terminal_size=SIZE, run_before=light)


def test_long_session_is_windowed(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A session longer than the window (made 60 entries here): the oldest entries are
    not laid out and the "earlier items" line says how many."""
    monkeypatch.setattr(Transcript, "window", 60)
    base = read_log(RECORDING).items
    items: list[it.ChatItem] = []
    span = base[-1].ts - base[0].ts + 60
    for copy in range(5):  # 5 x 31 entries: more than the window of 60
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
    assert snap_compare(
        recorded_app(title="demo.py"), terminal_size=size, run_before=slow_search_detail
    )


@sizes
def test_crash(snap_compare: Any, size: tuple[int, int], tmp_path: Path) -> None:
    """The agent died: the banner with the log's tail and the restart key."""
    assert snap_compare(crashed_app(tmp_path), terminal_size=size, run_before=banner_shown)


@sizes
def test_end_of_call(snap_compare: Any, size: tuple[int, int]) -> None:
    """The agent said goodbye and ended the call: no crash banner."""
    assert snap_compare(ended_app(), terminal_size=size, run_before=banner_shown)


@sizes
def test_replay(snap_compare: Any, size: tuple[int, int]) -> None:
    """A finished replay: progress in the status bar, the end-of-recording marker,
    no cancel or restart keys."""
    assert snap_compare(replay_app(), terminal_size=size, run_before=replay_finished)
