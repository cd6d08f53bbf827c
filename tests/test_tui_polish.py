"""Chat UI behaviour of issue 11 on fed items (no agent): error rows, late items of a
cancelled turn, the end of a call, narrow terminals, focus, the tool calls pane,
exports and screenshots, token usage across restarts, replay progress, polish, and
per-turn metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from test_tui_support import RECORDING, drawn_with, notices, rows, send, shown, wait_until
from test_tui_widgets import ScriptedBackend, loaded, recorded
from textual.widgets import Footer
from textual.widgets._toast import ToastRack

from parley.app.backend import ItemsBackend, ReplayBackend
from parley.app.cli.commands import cli
from parley.app.protocol import items as it
from parley.app.protocol.shapes import AgentInfo
from parley.app.session.eventlog import read_log
from parley.app.view import Block, UsageTotals, View
from parley.widgets.app import make_app
from parley.widgets.commands import output_name
from parley.widgets.rows import (
    clean_text,
    error_raw,
    error_summary,
    format_ms,
    readable_error,
)
from parley.widgets.tools_pane import ToolList, tool_summary


def block(item: it.ChatItem) -> Block:
    """The view's block of one item."""
    update = View().feed(item)
    assert update is not None
    return update.block


LLM_ERROR = (
    "type='llm_error' timestamp=1795357217.810971 label='scripted_llm.ScriptedLLM' "
    "error=APIStatusError('scripted model failure', status_code=500, request_id=None, "
    "body=None, retryable=False) recoverable=False"
)
TURN_ERROR = "message='scripted model failure', status_code=500, retryable=False"
CLOSED = (
    "the agent closed the connection (it ended the call or stopped); see `parley logs`, "
    "end the session with `parley stop`"
)
WIDE, NARROW = (140, 45), (80, 24)


class DeadAfter(ScriptedBackend):
    """A live-looking session whose agent is gone once ``dead`` is set."""

    dead = False

    async def agent_alive(self) -> bool:
        return not self.dead


def call(call_id: str, name: str, args: str = "{}", **kw: Any) -> it.ToolCall:
    return it.ToolCall(call_id=call_id, name=name, arguments=args, **kw)


# -- 2. a model error is one readable row ------------------------------------------


def test_readable_error() -> None:
    assert readable_error(LLM_ERROR) == "Model error: scripted model failure (APIStatusError)"
    assert readable_error(TURN_ERROR) == "scripted model failure"
    assert (
        readable_error(CLOSED) == "The agent closed the connection (it ended the call or stopped)"
    )
    assert "parley" not in readable_error(
        "the agent exited with code -9; see its log with `parley logs`"
    )


async def test_model_error_is_one_readable_row_with_details_on_enter() -> None:
    backend = ScriptedBackend()
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        backend.emit(it.UserMessage(text="explode", turn_id="t1"))
        backend.emit(it.AgentError(message=LLM_ERROR, turn_id="t1"))
        backend.emit(it.TurnFinished(status="error", error=TURN_ERROR, turn_id="t1"))
        await wait_until(pilot, lambda: app.items_seen == 3)
        await pilot.pause()
        errors = [r for r in rows(app) if r.kind in ("error", "turn_end")]
        assert len(errors) == 1 and errors[0].kind == "error"
        row = errors[0]
        first = row.plain.splitlines()[0]
        assert first == "✗ Model error: scripted model failure (APIStatusError)"
        assert "type='llm_error'" not in row.plain and "F4" in row.plain
        # Enter on the row (the transcript's cursor is on it) shows the raw messages
        app.transcript.focus()
        await pilot.pause()
        assert app.transcript.cursor is not None
        assert app.transcript.entries[app.transcript.cursor] is row
        await pilot.press("enter")
        await wait_until(pilot, lambda: "type='llm_error'" in row.plain)
        assert TURN_ERROR in row.plain


# -- 3. late items of a cancelled turn; Esc puts back every cancelled text ----------


async def test_late_reply_of_a_cancelled_turn_is_dimmed_and_labelled() -> None:
    backend = ScriptedBackend()
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        await send(pilot, "slow 5")
        await send(pilot, "weather in Oslo")
        await wait_until(pilot, lambda: len(backend.said) == 2 and app.busy)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.busy)
        assert app.prompt.text == "slow 5\nweather in Oslo"  # both texts are back
        # the agent still answers "slow 5" after "weather in Oslo" was shown
        backend.emit(
            it.AgentMessage(text="The search took 5 seconds.", turn_id="t1", agent_id="concierge")
        )
        late = await wait_until(pilot, lambda: rows(app, "agent"))
        assert drawn_with(app, late[0], "late")
        assert "late, from the cancelled turn “slow 5”" in late[0].plain
        # a reply to a turn that was not cancelled looks normal
        await send(pilot, "hello")
        backend.finish("hi")
        reply = await wait_until(pilot, lambda: [r for r in rows(app, "agent") if "hi" in r.plain])
        assert not drawn_with(app, reply[0], "late") and "late" not in reply[0].plain


# -- 4. the end of a call is not a crash; error rows point to UI keys --------------


async def test_end_of_call_is_not_a_crash() -> None:
    backend = DeadAfter()
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        await send(pilot, "bye")
        backend.emit(call("c1", "end_call", turn_id="t1", status="running"))
        backend.emit(
            call(
                "c1", "end_call", turn_id="t1", status="done", output="say goodbye", duration_ms=1.0
            )
        )
        backend.finish("Goodbye, and have a great trip!")
        backend.dead = True
        backend.emit(it.AgentError(message=CLOSED))
        await wait_until(pilot, lambda: app.banner.display, what="banner")
        assert "The agent ended the call" in app.banner.text
        assert "Ctrl+R" in app.banner.text and app.banner.has_class("-ended")
        assert "stopped" not in app.banner.text.split("\n")[0]
        assert rows(app, "ended") and not rows(app, "error")
        assert app.status.state == "call ended"


async def test_call_ended_item_is_the_end_of_a_call_without_an_end_call_tool() -> None:
    """The session's ``agent_error`` of kind ``call_ended`` (the agent closed the
    session itself, e.g. ``session.shutdown()``)."""
    backend = DeadAfter()
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        backend.dead = True
        ended = "the agent ended the call; `parley start` starts a new session"
        backend.emit(it.AgentError(kind="call_ended", message=ended))
        await wait_until(pilot, lambda: app.banner.display, what="banner")
        assert "The agent ended the call" in app.banner.text and app.banner.has_class("-ended")
        assert rows(app, "ended") and not rows(app, "error")


def test_model_error_with_the_sessions_readable_message_and_detail() -> None:
    message = "model error: scripted model failure (HTTP 500)"
    error = block(it.AgentError(kind="model_error", detail=LLM_ERROR, message=message))
    assert error_summary(error) == "Model error: scripted model failure (HTTP 500)"
    assert error_raw(error)[1] == LLM_ERROR  # the details on Enter
    exited = "the agent exited with code -9; see `parley logs`, `parley start` starts a new session"
    assert readable_error(exited) == "The agent exited with code -9"


async def test_a_crash_row_points_to_ui_keys_not_cli_commands() -> None:
    backend = DeadAfter()
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        backend.dead = True
        backend.emit(it.AgentError(message="the agent exited with code -9; see `parley logs`, "
                                   "end the session with `parley stop`"))  # fmt: skip
        await wait_until(pilot, lambda: app.banner.display, what="banner")
        row = rows(app, "error")[0]
        assert "parley " not in row.plain and "F4" in row.plain and "Ctrl+R" in row.plain
        assert "The agent stopped" in app.banner.text and not app.banner.has_class("-ended")
        assert "parley logs" not in app.banner.text.split("Last lines")[0]


# -- 5. narrow terminals ------------------------------------------------------------


async def test_narrow_terminal_hides_the_panes_and_opens_them_over_the_transcript() -> None:
    backend = ScriptedBackend(recorded())
    async with make_app(backend, frozen=True).run_test(size=NARROW) as pilot:
        app = await loaded(pilot)
        assert app.screen.has_class("-narrow")
        assert not app.query_one("#side").display
        assert app.transcript.region.width >= 76  # the whole width, not 45 columns
        assert app.query_one(Footer).compact
        await pilot.press("f2")
        await pilot.pause()
        assert app.tools.display and not app.transcript.display
        assert app.tools.region.width >= 76
        assert app.focused is app.query_one("#tool-list")
        await pilot.press("escape")  # closes the pane, cancels nothing
        await pilot.pause()
        assert app.transcript.display and not app.query_one("#side").display
        await pilot.press("f3")
        await pilot.pause()
        assert app.agents.display and not app.tools.display
        await pilot.press("f3")
        await pilot.pause()
        assert app.transcript.display
        # wide again: the panes are back beside the transcript
        await pilot.resize_terminal(*WIDE)
        await wait_until(pilot, lambda: not app.screen.has_class("-narrow"))
        assert app.tools.display and app.agents.display and app.transcript.display


async def test_status_bar_truncates_cleanly_at_60_columns() -> None:
    backend = ScriptedBackend(recorded())
    async with make_app(backend, frozen=True).run_test(size=(60, 20)) as pilot:
        app = await loaded(pilot)
        app.status.latency_ms = 1234.0
        app.status.turn_metrics = "ttft 420 ms · lookup_weather 2.6 ms · slow_search 8.0 s"
        app.status.queued = 2
        await pilot.pause()
        parts = [app.status.query_one(f"#{n}").region for n in ("state", "info", "tokens")]
        for left, right in zip(parts, parts[1:], strict=False):
            assert left.right <= right.x, parts  # never overlapping
        assert parts[-1].right <= 60


# -- 6. focus -------------------------------------------------------------------------


async def test_transcript_is_one_focus_target_with_row_navigation() -> None:
    backend = ScriptedBackend(recorded())
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        assert rows(app, "tool") and not app.transcript.children  # no widget per row
        y = app.transcript.scroll_y
        assert app.prompt.has_focus
        await pilot.press("tab")
        await pilot.pause()
        assert app.transcript.has_focus
        assert app.transcript.scroll_y == y  # focusing does not jump to the top
        # the next Tab leaves the transcript, however many tool rows it has
        await pilot.press("tab")
        assert not app.transcript.has_focus and app.focused is not None
        await pilot.press("shift+tab")
        assert app.transcript.has_focus
        # Up moves to the nearest tool row; Enter opens its detail
        for _ in range(40):
            cursor = app.transcript.cursor
            assert cursor is not None
            cur = app.transcript.entries[cursor]
            if cur.kind == "tool":
                break
            await pilot.press("up")
        assert cur.kind == "tool" and app.transcript.cursor == app.transcript.entries.index(cur)
        assert "transcript--cursor" in app.transcript.highlight_of(cur)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.tools.selected == cur.item.call_id)


# -- 7. the tool calls pane --------------------------------------------------------


def test_tool_list_entries_tell_calls_apart() -> None:
    entries = [
        tool_summary(
            block(
                call(
                    f"c{n}",
                    "slow_search",
                    f'{{"seconds": {n}.0}}',
                    status="done",
                    duration_ms=n * 1000.0,
                )
            )
        ).plain  # fmt: skip
        for n in (8, 9, 10)
    ]
    assert len(set(entries)) == 3 and "seconds=8" in entries[0]
    assert "–" in tool_summary(block(call("c", "x", status="done"))).plain  # unknown duration
    assert "0.0 ms" not in tool_summary(block(call("c", "x", status="done", duration_ms=0.0))).plain
    assert format_ms(None) == "–" and format_ms(0.0) == "<0.1 ms"
    weather = tool_summary(block(call("c", "lookup_weather", status="done", duration_ms=2.6))).plain
    assert "lookup_weather2.6" not in weather and "2.6 ms lookup_weather" in weather


async def test_tool_detail_output_shows_without_scrolling() -> None:
    output = "The search took 8 seconds and found 3 hotels."
    items = [
        call(
            f"c{n}",
            "slow_search",
            '{"seconds": 8.0, "city": "Paris", "stars": 4}',
            seq=n,
            status="done",
            output=output,
            duration_ms=8000.0,
            turn_id=f"t{n}",
            agent_id="concierge",
        )  # fmt: skip
        for n in range(1, 12)
    ]
    backend = ItemsBackend(items)
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        app.tools.select("c11")
        await pilot.pause()
        scroll = app.tools.query_one("#tool-detail-scroll")
        lines = shown(app.tools, "#tool-detail").plain.splitlines()
        at = next(i for i, line in enumerate(lines) if output in line)
        assert at < scroll.scrollable_content_region.height, (at, scroll.region)


# -- 8. screenshots and exports ---------------------------------------------------


async def test_palette_screenshot_has_the_footer_and_no_duplicate_entry(tmp_path: Path) -> None:
    backend = ItemsBackend.from_log(RECORDING, agent_log=None)
    app = make_app(backend, frozen=True, export_dir=tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await loaded(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Screenshot" not in titles and "Save SVG screenshot" in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        for ch in "Save SVG":
            await pilot.press("space" if ch == " " else ch)
        await pilot.pause(0.3)
        await pilot.press("enter")
        svg = await wait_until(pilot, lambda: next(tmp_path.glob("*.svg"), None), what="svg")
        await pilot.pause(0.2)
        text = svg.read_text()
        assert "Quit" in text and "palette" in text  # the key footer is in it
        sid = read_log(RECORDING).header["session_id"]
        assert svg.name.startswith(f"parley-{sid}-")


def test_output_name() -> None:
    assert output_name("20261122-142015-cd4857", "md", 0).startswith("parley-20261122-142015-")
    assert output_name(None, "svg", 0).startswith("parley-session-")
    assert "/" not in output_name("../x", "md", 0)


# -- 9. token usage across restarts ---------------------------------------------


def usage(tin: int, tout: int) -> it.Usage:
    return it.Usage(models=[{"kind": "llm", "input_tokens": tin, "output_tokens": tout}])


def test_usage_totals_add_up_agent_processes() -> None:
    u = UsageTotals()
    u.update(usage(8000, 605))
    u.new_process()  # the restarted agent's first handoff
    u.update(usage(30, 19))
    assert u.session == (8030, 624) and u.current == (30, 19)
    u.update(usage(20, 10))  # counters went down without a handoff: another process
    assert u.session == (8050, 634)


async def test_status_bar_shows_the_session_total_across_a_restart() -> None:
    backend = ScriptedBackend()
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        backend.emit(it.Handoff(from_agent=None, to_agent="concierge"))
        backend.emit(usage(8000, 605))
        backend.emit(it.AgentError(message="the agent exited with code -9"))
        backend.emit(it.Handoff(from_agent=None, to_agent="concierge"))  # restarted
        backend.emit(usage(30, 19))
        await wait_until(pilot, lambda: app.status.tokens == (8030, 624))
        assert app.status.agent_tokens == (30, 19)
        await pilot.pause()
        tokens = str(shown(app.status, "#tokens"))
        assert "8,654" in tokens and "this agent 49" in tokens


# -- 10. replay ---------------------------------------------------------------------


async def test_replay_shows_progress_and_its_end() -> None:
    rec = read_log(RECORDING)
    backend = ReplayBackend(rec.items, speed=0, header=rec.header)
    app = make_app(backend, frozen=True)
    async with app.run_test(size=WIDE) as pilot:
        await wait_until(pilot, lambda: app.replay_finished, what="replay finished")
        await pilot.pause()
        n = len(rec.items)
        assert app.status.replay is not None and app.status.replay[:2] == (n, n)
        assert f"{n}/{n} items · 0:02 / 0:02" in str(shown(app.status, "#info"))
        assert app.status.state == "replay finished"
        marker = notices(app, "end-of-recording")
        assert marker and "End of the recording" in marker[0].plain
        keys = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert app.check_action("cancel_turn", ()) is False
        assert app.check_action("restart_agent", ()) is False
        assert "cancel_turn" not in {
            b.binding.action for b in app.active_bindings.values() if b.binding.show and
            app.check_action(b.binding.action, ()) is not False
        }, keys  # fmt: skip


# -- 11. polish ---------------------------------------------------------------------


async def test_polish_padding_hanging_tools_line_and_toasts_above_the_input() -> None:
    backend = ScriptedBackend(recorded())
    app = make_app(backend, frozen=True)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        app = await loaded(pilot)
        assert app.query_one("#tool-list", ToolList).styles.padding.left >= 1
        app.agents.info = {"id": "concierge", "instructions": "x",
                           "tools": [f"tool_number_{n}" for n in range(12)]}  # fmt: skip
        await pilot.pause()
        label = app.agents.query_one("#agent-tools-label").region
        tools = app.agents.query_one("#agent-tools").region
        assert tools.height > 1 and tools.x >= label.right  # wraps under itself
        app.notify("hello")
        await pilot.pause()
        rack = app.screen.query_one(ToastRack)
        toast_regions = [t.region for t in rack.children]
        assert toast_regions
        for region in toast_regions:
            assert not region.overlaps(app.prompt.region)
            assert not region.overlaps(app.status.region)


async def test_a_message_typed_during_boot_shows_queued() -> None:
    class SlowBoot(ScriptedBackend):
        def __init__(self) -> None:
            super().__init__()
            self.go = asyncio.Event()

        async def start(self) -> AgentInfo:
            await self.go.wait()
            return await super().start()

    backend = SlowBoot()
    app = make_app(backend, frozen=True)
    async with app.run_test(size=WIDE) as pilot:
        await send(pilot, "hello early")
        queued = await wait_until(pilot, lambda: notices(app, "queued"))
        assert "hello early" in queued[0].plain
        backend.go.set()
        await wait_until(pilot, lambda: backend.said == ["hello early"])
        await wait_until(pilot, lambda: rows(app, "user"))
        await wait_until(pilot, lambda: not notices(app, "queued"))


async def test_zwj_emoji_and_control_characters_do_not_shift_borders() -> None:
    family = "family: 👨\u200d👩\u200d👧 ❤\ufe0f and \x1b[31mred\x1b[0m"
    backend = ScriptedBackend()
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        backend.emit(it.AgentMessage(text=family, agent_id="concierge"))
        row = (await wait_until(pilot, lambda: rows(app, "agent")))[0]
        assert "\u200d" not in row.plain and "\ufe0f" not in row.plain
        assert "\x1b" not in row.plain
    assert clean_text("a\x07b\tc") == "a\\x07b    c"


def test_help_groups_the_commands() -> None:
    out = CliRunner().invoke(cli, ["--help"]).output
    for section in ("Chat UI:", "Headless (scripts, AI agents):", "Recordings:"):
        assert section in out
    chat_ui = out.split("Chat UI:")[1].split("Headless")[0]
    assert "chat" in chat_ui and "attach" in chat_ui and "say " not in chat_ui
    assert "export" in out.split("Recordings:")[1]


# -- 12. per-turn metrics -----------------------------------------------------------


async def test_per_turn_metrics_in_the_status_bar_and_on_the_message() -> None:
    backend = ScriptedBackend()
    async with make_app(backend, frozen=True).run_test(size=WIDE) as pilot:
        app = await loaded(pilot)
        await send(pilot, "weather")
        backend.emit(call("c1", "lookup_weather", turn_id="t1", status="done", duration_ms=2.6))
        backend.emit(it.AgentMessage(text="sunny", turn_id="t1", agent_id="concierge",
                                     metrics={"llm_node_ttft": 0.42}))  # fmt: skip
        backend.emit(it.TurnFinished(status="ok", turn_id="t1", duration_ms=450.0))
        await wait_until(pilot, lambda: app.status.turn_metrics)
        assert app.status.turn_metrics == "ttft 420 ms · lookup_weather 2.6 ms"
        reply = rows(app, "agent")[-1]
        assert "ttft 420 ms" in reply.plain.splitlines()[0]
