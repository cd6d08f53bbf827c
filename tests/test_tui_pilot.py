"""Pilot tests of the chat UI against the real demo agent (one daemon per module).

The app attaches to the module's daemon through the same DaemonBackend as `parley
chat`; every test opens a fresh app, which first shows the session's history.
"""

from __future__ import annotations

import psutil
import pytest
from conftest import ROOT
from test_tui_support import (
    SIZE,
    after_user,
    attached_app,
    click_entry,
    demo_daemon,  # noqa: F401  (fixture)
    drawn_with,
    module_home,  # noqa: F401  (fixture)
    rows,
    send,
    shown,
    started,
    wait_until,
)

from parley.app.backend import DaemonBackend
from parley.app.daemon.client import locate
from parley.app.protocol import items as it
from parley.widgets.app import ParleyApp, make_app
from parley.widgets.log_pane import AgentLogPane
from parley.widgets.transcript import ItemEntry

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_daemon")]

FALLBACK = (
    "I can check the weather, look up a booking, run a slow search, or connect you to billing."
)
GREETING = "Hi! I'm your travel concierge."


def agent_texts(rows_: list) -> list[str]:
    return [r.block.body for r in rows_ if r.kind == "agent"]


def slow_search_running(app: ParleyApp, text: str) -> list[ItemEntry]:
    """The running ``slow_search`` rows of the turn the user typed as ``text``."""
    return [
        r
        for r in after_user(app, text)
        if r.kind == "tool" and r.block.title == "slow_search" and r.block.status == "running"
    ]


async def test_type_a_message_and_see_the_reply() -> None:
    app, _ = attached_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        # the boot greeting is part of the session's history
        assert any(t.startswith(GREETING) for t in agent_texts(rows(app)))
        assert app.agents.info["id"] == "concierge"
        await pilot.press(*"hello there")
        await pilot.press("enter")
        assert app.prompt.text == ""
        await wait_until(pilot, lambda: FALLBACK in agent_texts(after_user(app, "hello there")))
        user = [r for r in rows(app, "user") if getattr(r.item, "text", None) == "hello there"]
        assert user and "hello there" in user[-1].plain
        await wait_until(pilot, lambda: app.status.state == "listening" and not app.busy)
        assert app.status.latency_ms is not None
        assert app.status.tokens[0] > 0
        # history: Up brings the message back
        await pilot.press("up")
        assert app.prompt.text == "hello there"


async def test_tool_call_in_transcript_and_tool_pane() -> None:
    app, _ = attached_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await send(pilot, "what's the weather in Paris?")

        def done_row() -> ItemEntry | None:
            found = [r for r in after_user(app, "what's the weather in Paris?")
                     if r.kind == "tool" and r.block.status == "done"]  # fmt: skip
            return found[0] if found else None

        row = await wait_until(pilot, done_row, what="lookup_weather done")
        assert row.item.name == "lookup_weather"
        assert "sunny with a temperature of 70 degrees." in row.plain
        assert drawn_with(app, row, "tool-done")
        call = app.tools.calls[row.item.call_id]
        assert call.status == "done" and call.output == "sunny with a temperature of 70 degrees."
        await wait_until(
            pilot,
            lambda: (
                "The weather in Paris is sunny"
                in " ".join(agent_texts(after_user(app, "what's the weather in Paris?")))
            ),
        )
        # selecting the row shows the call's full detail in the pane
        await click_entry(pilot, row)
        await wait_until(pilot, lambda: app.tools.selected == row.item.call_id)
        detail = str(shown(app.tools, "#tool-detail"))
        assert '"location": "Paris"' in detail  # pretty-printed arguments
        assert "sunny with a temperature of 70 degrees." in detail
        assert "done" in detail


async def test_failing_tool_shows_as_error() -> None:
    app, _ = attached_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await send(pilot, "look up booking ZZZ999")

        def error_row() -> ItemEntry | None:
            found = [r for r in after_user(app, "look up booking ZZZ999")
                     if r.kind == "tool" and r.block.status == "error"]  # fmt: skip
            return found[0] if found else None

        row = await wait_until(pilot, error_row, what="lookup_booking error")
        assert drawn_with(app, row, "tool-error")
        assert "No booking found with number ZZZ999." in row.plain
        app.tools.select(row.item.call_id)
        await pilot.pause()
        detail = str(shown(app.tools, "#tool-detail"))
        assert "error" in detail and "No booking found with number ZZZ999." in detail


async def test_model_failure_is_a_visible_error_row() -> None:
    app, _ = attached_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await send(pilot, "explode")
        # one row: the agent's error event and the failed turn share it
        turn_end = await wait_until(
            pilot,
            lambda: [
                r
                for r in after_user(app, "explode")
                if r.kind == "error" and app.view.turns.is_finished(r.block.turn_id or "")
            ],
        )
        errors = [r for r in after_user(app, "explode") if r.kind in ("error", "turn_end")]
        assert errors == turn_end
        assert turn_end[0].plain.startswith("✗ Model error: scripted model failure")
        assert "F4" in turn_end[0].plain  # a next step
        assert app.banner.display is False  # the agent is still alive


async def test_handoff_updates_the_agents_pane() -> None:
    app, _ = attached_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await send(pilot, "billing")
        handoff = await wait_until(
            pilot, lambda: [r for r in after_user(app, "billing") if r.kind == "handoff"]
        )
        assert handoff[0].item.from_agent == "concierge" and handoff[0].item.to_agent == "billing"
        assert "concierge → billing" in handoff[0].plain
        await wait_until(pilot, lambda: app.agents.info.get("id") == "billing")
        assert "check_balance" in app.agents.info["tools"]
        card = str(shown(app.agents, "#agent-card"))
        tools = str(shown(app.agents, "#agent-tools"))
        assert "billing" in card and "check_balance" in tools
        timeline = str(shown(app.agents, "#handoffs"))
        assert "concierge → billing" in timeline
        # the unprompted greeting of the new agent shows too
        await wait_until(
            pilot,
            lambda: any(
                t.startswith("Hi, this is billing") for t in agent_texts(after_user(app, "billing"))
            ),  # fmt: skip
        )
        # back to the concierge for the next tests
        await send(pilot, "concierge")
        await wait_until(pilot, lambda: app.agents.info.get("id") == "concierge")
        await wait_until(pilot, lambda: not app.busy)


async def test_escape_cancels_a_slow_turn_and_the_next_turn_works() -> None:
    app, _ = attached_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await send(pilot, "slow 2")
        await wait_until(pilot, lambda: app.busy, what="turn running")
        assert app.prompt.has_class("-busy")
        await wait_until(pilot, lambda: slow_search_running(app, "slow 2"), what="slow_search")
        await pilot.press("escape")
        cancelled = await wait_until(
            pilot,
            lambda: [
                r
                for r in after_user(app, "slow 2")
                if r.kind == "turn_end" and r.block.status == "cancelled"
            ],  # fmt: skip
            what="turn cancelled row",
        )
        assert "turn cancelled" in cancelled[0].plain
        await wait_until(pilot, lambda: not app.busy)
        assert not app.prompt.has_class("-busy")
        assert app.prompt.text == "slow 2"  # the prompt is restored
        app.prompt.clear()
        await send(pilot, "hello again")
        await wait_until(
            pilot, lambda: FALLBACK in agent_texts(after_user(app, "hello again")), timeout=30
        )
        # the slow tool's late result still lands in its row
        await wait_until(
            pilot,
            lambda: any(
                r.kind == "tool" and r.block.title == "slow_search" and not r.block.running
                for r in after_user(app, "slow 2")
            ),
            timeout=15,
        )


async def test_typed_turns_queue_while_one_runs() -> None:
    app, _ = attached_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await send(pilot, "slow 5")
        # the first turn is surely running (its tool started) before the others are typed
        await wait_until(pilot, lambda: slow_search_running(app, "slow 5"), what="slow_search")
        await send(pilot, "first queued")
        await send(pilot, "second [bold]queued[/bold]")  # markup-looking text stays text
        await wait_until(pilot, lambda: app.status.queued == 2, what="two turns queued")
        assert "2 queued" in str(shown(app.status, "#info"))
        await wait_until(
            pilot,
            lambda: FALLBACK in agent_texts(after_user(app, "second [bold]queued[/bold]")),
            timeout=60,
        )
        users = [getattr(r.item, "text", None) for r in rows(app, "user")][-3:]
        assert users == ["slow 5", "first queued", "second [bold]queued[/bold]"]
        assert "second [bold]queued[/bold]" in rows(app, "user")[-1].plain
        await wait_until(pilot, lambda: not app.busy)


async def test_quitting_an_attached_app_leaves_the_daemon_running() -> None:
    app, backend = attached_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert backend.started_daemon is False
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: backend.closed, what="backend closed")
    state = locate(ROOT)
    assert psutil.pid_exists(state.daemon_pid)


async def test_command_palette_actions(tmp_path) -> None:
    app, _ = attached_app(export_dir=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Clear view", "Copy last reply", "Export: Markdown transcript (.md)",
                      "Export: JSON lines as recorded (.jsonl)", "Export: HTML page (.html)",
                      "Export: asciicast (.cast)", "Save SVG screenshot", "Show agent info",
                      "Toggle tool calls pane", "Toggle agents pane", "Toggle agent log",
                      "Restart agent"):  # fmt: skip
            assert title in titles
        await app.action_export("md")
        await app.action_export("json")
        md = next(tmp_path.glob("*.md")).read_text()
        assert GREETING in md
        js = next(tmp_path.glob("*.jsonl")).read_text().splitlines()
        assert '"type": "session"' in js[0]  # the header, as `parley export -f json`
        assert any('"type":"agent_message"' in line for line in js[1:])
        app.action_save_svg()
        await wait_until(pilot, lambda: list(tmp_path.glob("*.svg")), what="screenshot")
        await pilot.press("f4")
        log = app.query_one("#log", AgentLogPane)
        assert log.display
        await wait_until(pilot, lambda: log.line_count > 0, what="agent log")
        await pilot.press("f2", "f3")
        assert not app.query_one("#side").display
        app.action_show_agent_info()
        await pilot.pause()
        assert app.screen.__class__.__name__ == "AgentInfoScreen"
        await pilot.press("escape")
        app.transcript.clear()
        assert rows(app) == []


def test_item_types_are_all_routed() -> None:
    """Every chat item type has a case in the view's fold or in ParleyApp.route (a
    new type must be shown: as a block, or in the panes and status bar)."""
    import inspect

    from parley.app.view import View
    from parley.widgets.app import ParleyApp

    source = inspect.getsource(ParleyApp.route) + inspect.getsource(View._fold)
    for cls in it.ITEM_TYPES.values():
        assert f"it.{cls.__name__}(" in source, cls.__name__


async def test_attach_only_backend_joins_the_running_session() -> None:
    backend = DaemonBackend(None, cwd=ROOT, attach_only=True)
    app = make_app(backend)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert any(t.startswith(GREETING) for t in agent_texts(rows(app)))
        await send(pilot, "hello from attach")
        await wait_until(
            pilot, lambda: FALLBACK in agent_texts(after_user(app, "hello from attach"))
        )
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: backend.closed)
    assert not backend.started_daemon
    assert psutil.pid_exists(locate(ROOT).daemon_pid)
