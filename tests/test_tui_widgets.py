"""Chat UI behaviour on fed items (no agent): following the bottom, tool rows updated
in place, unprompted items, text that looks like markup, the input box (send,
new lines, paste, history, busy, Esc), windowing, the spinner, Markdown rendering."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from test_tui_support import RECORDING, SIZE, drawn_with, rows, send, shown, wait_until
from textual import events
from textual.widgets._toast import Toast

from parley.app.backend import BackendError, ItemsBackend
from parley.app.protocol import items as it
from parley.app.protocol.shapes import AgentInfo
from parley.app.session.eventlog import read_log
from parley.widgets.app import ParleyApp, make_app
from parley.widgets.markdown import markdown_content
from parley.widgets.status_bar import Spinner
from parley.widgets.transcript import Transcript


class ScriptedBackend(ItemsBackend):
    """Recorded items plus a live-looking session: ``say`` records the text and emits
    the user message; ``cancel`` ends the open turns as cancelled."""

    is_replay = False

    def __init__(self, items: list[it.ChatItem] | None = None) -> None:
        super().__init__(items or [])
        self.said: list[str] = []
        self.open_turns: list[str] = []
        self.seq = self.items[-1].seq if self.items else 0

    def emit(self, item: it.ChatItem) -> it.ChatItem:
        self.seq += 1
        item = dataclasses.replace(item, seq=self.seq, ts=1000.0 + self.seq)
        self.push(item)
        return item

    async def say(self, text: str) -> str:
        self.said.append(text)
        turn_id = f"t{len(self.said)}"
        self.open_turns.append(turn_id)
        self.emit(it.UserMessage(text=text, turn_id=turn_id))
        return turn_id

    async def cancel(self) -> list[str]:
        ids, self.open_turns = self.open_turns, []
        for turn_id in ids:
            self.emit(it.TurnFinished(status="cancelled", turn_id=turn_id))
        return ids

    def finish(self, reply: str) -> None:
        turn_id = self.open_turns.pop(0)
        self.emit(it.AgentMessage(text=reply, turn_id=turn_id, agent_id="concierge"))
        self.emit(it.TurnFinished(status="ok", turn_id=turn_id, duration_ms=12.0))


def recorded(copies: int = 1) -> list[it.ChatItem]:
    base = read_log(RECORDING).items
    out: list[it.ChatItem] = []
    for copy in range(copies):
        for item in base:
            changes: dict[str, Any] = {"seq": len(out) + 1}
            if isinstance(item, it.ToolCall):
                changes["call_id"] = f"{item.call_id}-{copy}"
            out.append(dataclasses.replace(item, **changes))
    return out


async def loaded(pilot: Any) -> ParleyApp:
    app: ParleyApp = pilot.app
    backend: Any = app.backend
    await wait_until(
        pilot, lambda: app.started and app.items_seen == len(backend.items), what="loaded"
    )
    await pilot.pause()
    return app


def at_bottom(app: ParleyApp) -> bool:
    t = app.transcript
    return t.scroll_y >= t.max_scroll_y


async def test_follows_the_bottom_but_never_yanks_a_reader_back() -> None:
    backend = ScriptedBackend(recorded())
    async with make_app(backend, frozen=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        assert at_bottom(app) and app.transcript.max_scroll_y > 0
        backend.emit(it.AgentMessage(text="one more", agent_id="concierge"))
        await wait_until(pilot, lambda: getattr(rows(app)[-1].item, "text", None) == "one more")
        await pilot.pause()
        assert at_bottom(app)
        # the user scrolls back: new items do not move the view
        app.transcript.scroll_home(animate=False)
        await pilot.pause()
        assert app.transcript.scroll_y == 0
        backend.emit(it.AgentMessage(text="while reading", agent_id="concierge"))
        await wait_until(
            pilot, lambda: getattr(rows(app)[-1].item, "text", None) == "while reading"
        )
        await pilot.pause()
        assert app.transcript.scroll_y == 0
        # back at the bottom, it follows again
        app.transcript.scroll_end(animate=False)
        await pilot.pause()
        backend.emit(it.AgentMessage(text="following again", agent_id="concierge"))
        await wait_until(
            pilot, lambda: getattr(rows(app)[-1].item, "text", None) == "following again"
        )
        await pilot.pause()
        assert at_bottom(app)


async def test_tool_call_row_is_updated_in_place_and_unprompted_items_show() -> None:
    backend = ScriptedBackend()
    async with make_app(backend, frozen=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        call = it.ToolCall(call_id="c1", name="lookup_weather", arguments='{"location": "Oslo"}')
        backend.emit(call)
        row = await wait_until(pilot, lambda: rows(app, "tool"))
        assert drawn_with(app, row[0], "tool-running") and "running" in row[0].plain
        backend.emit(
            dataclasses.replace(call, status="done", output="sunny [b]x[/b]", duration_ms=3.0)
        )
        await wait_until(pilot, lambda: row[0].item.status == "done")
        await pilot.pause()
        assert len(rows(app, "tool")) == 1
        assert drawn_with(app, row[0], "tool-done")
        assert not drawn_with(app, row[0], "tool-running")
        assert "sunny [b]x[/b]" in row[0].plain and "3.0 ms" in row[0].plain
        assert list(app.tools.calls) == ["c1"] and app.tools.calls["c1"].status == "done"
        # a late, unprompted item (no turn) is shown as it arrives
        backend.emit(it.AgentMessage(text="Background result is in.", turn_id=None))
        await wait_until(
            pilot, lambda: getattr(rows(app)[-1].item, "text", None) == "Background result is in."
        )


async def test_text_that_looks_like_markup_is_shown_as_text() -> None:
    backend = ScriptedBackend()
    nasty = "[bold red]not markup[/] [link=http://x]y[/link] [/] [@click=app.quit]q[/]"
    async with make_app(backend, frozen=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        backend.emit(it.UserMessage(text=nasty))
        backend.emit(it.AgentMessage(text=f"**bold** and {nasty}", agent_id="[red]a[/red]"))
        backend.emit(it.ToolCall(call_id="c", name="t[/]", arguments="[", status="error",
                                 output=nasty, is_error=True))  # fmt: skip
        backend.emit(it.AgentError(message=nasty))
        backend.emit(it.Handoff(from_agent="[b]", to_agent="[/b]"))
        await wait_until(pilot, lambda: len(rows(app)) == 5)
        await pilot.pause()
        for row in rows(app):
            rendered = row.content().plain
            assert "[/]" in rendered or "[/b]" in rendered, rendered
        agent = rows(app, "agent")[0].content().plain
        assert "bold and [bold red]not markup[/]" in agent  # Markdown, not markup
        app.tools.select("c")
        await pilot.pause()
        assert nasty in str(shown(app.tools, "#tool-detail"))
        app.action_show_agent_info()
        await pilot.pause()
        assert app.is_running


async def test_input_box_send_newline_paste_history_busy_and_escape() -> None:
    backend = ScriptedBackend()
    async with make_app(backend, frozen=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        prompt = app.prompt
        await pilot.press(*"first")
        await pilot.press("enter")
        await wait_until(pilot, lambda: backend.said == ["first"])
        assert prompt.text == ""
        # our turn runs: the box looks disabled but still takes text, which queues
        await wait_until(pilot, lambda: app.busy and prompt.has_class("-busy"))
        await pilot.press(*"line one", "shift+enter", *"line two", "ctrl+j", *"three")
        assert prompt.text == "line one\nline two\nthree"
        await pilot.press("enter")
        await wait_until(pilot, lambda: backend.said[-1] == "line one\nline two\nthree")
        await wait_until(pilot, lambda: app.status.queued == 1)
        # a multi-line paste stays in the box
        app.post_message(events.Paste("pasted 1\npasted 2"))  # as the driver does
        await pilot.pause()
        assert prompt.text == "pasted 1\npasted 2" and len(backend.said) == 2
        prompt.clear()
        # Up / Down walk the history
        await pilot.press("up")
        assert prompt.text == "line one\nline two\nthree"
        await pilot.press("up", "up")  # within the multi-line entry, to its first line
        assert prompt.text == "line one\nline two\nthree"
        await pilot.press("up")  # then on to the entry before
        assert prompt.text == "first"
        await pilot.press("down", "down", "down", "down")
        assert prompt.text == ""
        # Esc cancels the waiting turns and puts every one back, in order
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.busy)
        assert prompt.text == "first\nline one\nline two\nthree"
        cancelled = [
            r for r in rows(app, "turn_end") if getattr(r.item, "status", None) == "cancelled"
        ]
        assert len(cancelled) == 2
        # and the next turn works
        prompt.clear()
        await send(pilot, "again")
        await wait_until(pilot, lambda: app.busy)
        backend.finish("Here you go.")
        await wait_until(pilot, lambda: not app.busy)
        assert getattr(rows(app)[-1].item, "text", None) == "Here you go."
        assert app.status.latency_ms == 12.0
        assert [getattr(r.item, "text", None) for r in rows(app, "user")] == [
            "first", "line one\nline two\nthree", "again"
        ]  # fmt: skip


async def test_a_recorded_session_takes_no_turns() -> None:
    app = make_app(ItemsBackend(recorded()), frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        before = len(app.transcript.items)
        await send(pilot, "hello")
        await pilot.pause()
        assert len(app.transcript.items) == before
        assert "read only" in str(app.prompt.placeholder)
        assert not app.check_action("restart_agent", ())


async def test_long_session_lays_out_a_window_and_shows_earlier_entries_on_demand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Transcript, "window", 60)
    monkeypatch.setattr(Transcript, "page", 100)
    items = recorded(copies=6)
    async with make_app(ItemsBackend(items), frozen=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        transcript = app.transcript
        total = len(transcript.entries)
        window = transcript.window
        assert total > window and len(rows(app)) == window
        assert transcript.earlier == total - window
        transcript.scroll_home(animate=False)
        await pilot.pause()
        # line 0 is the blank before it, line 1 the "earlier items" line
        assert f"▲ {total - window:,} earlier items: show more" in transcript.render_line(1).text
        await pilot.click(transcript, offset=(10, 1))
        await wait_until(pilot, lambda: len(rows(app)) == min(total, window + 100))
        assert rows(app)[0].item is transcript.entries[total - len(rows(app))].item


async def test_spinner_turns_while_the_agent_thinks() -> None:
    backend = ScriptedBackend()
    async with make_app(backend).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        spinner = app.query_one(Spinner)
        backend.emit(it.AgentState(old_state="listening", new_state="thinking"))
        await wait_until(pilot, lambda: app.status.state == "thinking" and spinner.spinning)
        backend.emit(it.AgentState(old_state="thinking", new_state="listening"))
        await wait_until(pilot, lambda: app.status.state == "listening" and not spinner.spinning)
        backend.emit(it.Usage(models=[{"kind": "llm", "input_tokens": 10, "output_tokens": 5}]))
        await wait_until(pilot, lambda: app.status.tokens == (10, 5))


def test_markdown_rendering() -> None:
    src = (
        "# Title\nSome **bold**, *it*, `code`.\n\n- a\n- b\n  1. c\n\n> quote\n\n```\nx = [1]\n```"
    )
    plain = markdown_content(src).plain
    assert plain.splitlines() == [
        "Title", "", "Some bold, it, code.", "", "• a", "• b", "  1. c", "",
        "▌ quote", "", "x = [1]",
    ]  # fmt: skip
    assert markdown_content("[red]x[/red] | a |").plain == "[red]x[/red] | a |"


class BrokenBackend(ScriptedBackend):
    """Operations that fail in ways the app did not plan for."""

    async def cancel(self) -> list[str]:
        raise RuntimeError("cancel exploded [bold]")

    async def agent_info(self) -> AgentInfo:
        if self.said:
            raise RuntimeError("info exploded")
        return await super().agent_info()


async def test_unexpected_backend_errors_never_kill_the_app() -> None:
    backend = BrokenBackend()
    async with make_app(backend, frozen=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        await send(pilot, "hello")
        await wait_until(pilot, lambda: app.busy)
        await pilot.press("escape")
        await wait_until(
            pilot,
            lambda: any("cancel exploded [bold]" in n.message for n in app._notifications),
            what="error notification",
        )
        backend.emit(it.Handoff(from_agent="a", to_agent="b"))  # info refresh fails
        await wait_until(pilot, lambda: any(isinstance(r.item, it.Handoff) for r in rows(app)))
        await pilot.pause()
        assert app.is_running and app.busy  # still there, turn still open


async def test_ctrl_c_quits() -> None:
    backend = ScriptedBackend()
    app = make_app(backend, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+c")
        await wait_until(pilot, lambda: not app.is_running, what="exited")


def test_bindings_explain_themselves() -> None:
    for binding in ParleyApp.BINDINGS:
        assert binding.id and binding.description, binding  # type: ignore[union-attr]
    assert len({b.id for b in ParleyApp.BINDINGS}) == len(ParleyApp.BINDINGS)  # type: ignore[union-attr]


async def test_notifications_show_untrusted_text_as_text(tmp_path: Path) -> None:
    """Daemon errors and paths go to notify() as plain text: "[/y]" would raise a
    MarkupError, "[INFO]" vanish and "[@click=…]" become an action."""
    hostile = "daemon said [/y] [INFO] [@click=app.quit]x[/]"

    class FailingCancel(ScriptedBackend):
        async def cancel(self) -> list[str]:
            raise BackendError(hostile)

    backend = FailingCancel()
    export_dir = tmp_path / "no [/y] such dir"  # missing: writing there fails
    app = make_app(backend, export_dir=export_dir)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        app = await loaded(pilot)
        app.cancel_turn()
        await app.action_export("md")
        app.action_save_svg()  # an OSError is reported, not raised
        toasts = await wait_until(pilot, lambda: len(app.query(Toast)) == 3 and app.query(Toast))
        await pilot.pause()
        assert app.is_running
        shown = [toast.render().plain for toast in toasts]
        assert f"Could not cancel: {hostile}" in shown
        assert any(s.startswith(f"Could not write {export_dir}/") for s in shown), shown
        assert any(s.startswith(f"Could not save a screenshot to {export_dir}:") for s in shown)


async def test_clear_view_clears_transcript_tools_and_handoffs() -> None:
    backend = ScriptedBackend(recorded())
    async with make_app(backend, frozen=True).run_test(size=SIZE) as pilot:
        app = await loaded(pilot)
        assert rows(app) and app.tools.calls and app.agents.handoffs
        agent = app.agents.info["id"]
        await app.action_clear_view()
        await pilot.pause()
        assert rows(app) == [] and app.transcript.entries == []
        assert app.tools.calls == {} and app.tools.border_subtitle == ""
        assert app.agents.handoffs == []
        assert app.agents.info["id"] == agent  # the current agent stays
        backend.emit(it.Handoff(from_agent=agent, to_agent="billing"))
        await wait_until(pilot, lambda: len(app.agents.handoffs) == 1)
