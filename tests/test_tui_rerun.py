"""The palette's "Rerun this conversation": the session's turns against the real demo
agent in a fresh session, compared on a screen of its own (parley rerun's rules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DEMO, ROOT, copy_agent
from test_tui_support import SIZE, wait_until
from textual.widgets import Static

from parley.app.backend import ItemsBackend
from parley.widgets.app import make_app
from parley.widgets.rerun_screen import RerunScreen, VerdictRow

pytestmark = pytest.mark.e2e

REC_DEMO = ROOT / "testdata" / "recordings" / "rec_demo.jsonl"


def recording_for(agent: Path, dest: Path) -> Path:
    """The recorded demo session (7 turns), its header naming ``agent``."""
    lines = REC_DEMO.read_text().splitlines()
    header = json.loads(lines[0]) | {"agent_file": str(agent), "project": str(agent.parent)}
    dest.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    return dest


class Seen:
    """What the rerun screen showed before it was closed."""

    def __init__(self, screen: RerunScreen) -> None:
        self.result = screen.result
        self.rows = {r.verdict.index: r for r in screen.query(VerdictRow)}
        self.text = {i: str(r.render()) for i, r in self.rows.items()}
        self.outcome = {i: r.verdict.outcome for i, r in self.rows.items()}
        self.status = str(screen.query_one("#rerun-status", Static).render())


async def rerun_in_app(recording: Path) -> Seen:
    app = make_app(ItemsBackend.from_log(recording, agent_log=None), frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.started, what="started")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Rerun this conversation" in titles
        await app.action_rerun_conversation()
        screen = await wait_until(
            pilot, lambda: isinstance(app.screen, RerunScreen) and app.screen, what="screen"
        )
        await wait_until(pilot, lambda: screen.result is not None, timeout=180, what="rerun")
        await pilot.pause()
        seen = Seen(screen)
        assert list(seen.rows) == list(range(8))  # the boot and 7 turns
        assert all(r.has_class(f"-{r.verdict.outcome}") for r in seen.rows.values())
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RerunScreen), what="closed")
        return seen


async def test_rerun_screen_passes_for_the_same_agent(tmp_path: Path, parley_home: Path) -> None:
    seen = await rerun_in_app(recording_for(DEMO, tmp_path / "rec.jsonl"))
    assert seen.result is not None and seen.result.ok, seen.text
    assert set(seen.outcome.values()) == {"match"}
    assert "PASS" in seen.status and "7 of 7 turns match" in seen.status
    assert seen.result.rerun_session_id  # recorded like any session
    assert not list((parley_home / "run").glob("*/state.json"))  # its daemon is gone


async def test_rerun_screen_shows_what_differs(tmp_path: Path, parley_home: Path) -> None:
    """A copy of the demo agent whose booking tool answers differently: turn 2 differs."""
    agent = copy_agent(DEMO, tmp_path / "changed")
    agent.write_text(
        agent.read_text().replace("two nights at the Harbor", "four nights at the Harbor")
    )
    seen = await rerun_in_app(recording_for(agent, tmp_path / "rec.jsonl"))
    assert seen.result is not None and not seen.result.ok
    assert seen.outcome[1] == "match" and seen.outcome[2] == "differ"
    assert "tool lookup_booking: output differs" in seen.text[2]
    assert "recorded: two nights" in seen.text[2] and "now:      four nights" in seen.text[2]
    assert "(after a divergence)" in seen.text[3]
    assert "FAIL" in seen.status and "first difference at turn 2" in seen.status
