"""The transcript widget on its own (no backend): the lines it draws for each kind of
entry, the cursor and Enter, the pointer, following the bottom, "show more", a
re-wrap on resize, notices, a theme change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.style import Style as RichStyle
from textual.app import App, ComposeResult
from textual.color import Color
from textual.strip import Strip

import parley.widgets.app as app_module
from parley.app.protocol import items as it
from parley.app.view import View
from parley.widgets.transcript import Entry, Transcript

CSS = Path(app_module.__file__).with_name("parley.tcss")

LLM_ERROR = (
    "type='llm_error' timestamp=1.0 label='x' error=APIStatusError('model failure', "
    "status_code=500) recoverable=False"
)


class TranscriptApp(App[None]):
    CSS_PATH = CSS
    AUTO_FOCUS = None  # as in the chat app, the transcript is focused by the user

    def __init__(self) -> None:
        super().__init__()
        self.selected: list[str] = []

    def compose(self) -> ComposeResult:
        yield Transcript(id="transcript")

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    def on_transcript_tool_selected(self, message: Transcript.ToolSelected) -> None:
        self.selected.append(message.call_id)

    def feed(self, *items: it.ChatItem) -> None:
        view = getattr(self, "view", None) or View()
        self.view = view
        for seq, item in enumerate(items, len(view.blocks) + 100):
            if not item.seq:
                item = type(item)(**{**vars(item), "seq": seq, "ts": float(seq)})
            update = view.feed(item)
            if update is not None:
                self.transcript.show(update.block)
        self.transcript.flush()


def lines(t: Transcript) -> list[Strip]:
    """Every line of the transcript's content (scrolled as it is now)."""
    return [t.render_line(y) for y in range(t.scrollable_content_region.height)]


def text(t: Transcript) -> list[str]:
    return [strip.text.rstrip() for strip in lines(t)]


def line_of(t: Transcript, needle: str) -> tuple[int, Strip]:
    for y, strip in enumerate(lines(t)):
        if needle in strip.text:
            return y, strip
    raise AssertionError(f"{needle!r} not in {text(t)}")


def bar_style(strip: Strip) -> RichStyle:
    first = next(iter(strip))
    assert first.text == "▎", strip.text
    assert first.style is not None
    return first.style


def rgb(color: Any) -> tuple[int, int, int]:
    return Color.from_rich_color(color).rgb


def theme(app: App[None], name: str) -> tuple[int, int, int]:
    return Color.parse(app.theme_variables[name]).rgb


def call(call_id: str, status: it.ToolStatus = "done", **kw: Any) -> it.ToolCall:
    return it.ToolCall(call_id=call_id, name="lookup_weather", arguments='{"city": "Oslo"}',
                       status=status, duration_ms=2.0, **kw)  # fmt: skip


async def test_each_kind_is_drawn_with_its_bar_padding_and_colours() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 60)) as pilot:
        t = app.transcript
        app.feed(
            it.UserMessage(text="hello [b]there[/b]", turn_id="t1"),
            call("c1", output="sunny", turn_id="t1"),
            it.AgentMessage(text="It is **sunny**.\n\n- one", turn_id="t1", agent_id="concierge"),
            call("c2", status="error", output="boom", is_error=True),
            call("c3", status="running"),
            it.Handoff(from_agent="concierge", to_agent="billing"),
            it.AgentError(message=LLM_ERROR),
            it.Reload(files=["agent.py"], agent_pid=7),
        )
        t.add_notice("Restarting the agent…")
        await pilot.pause()
        shown = text(t)
        width = t.scrollable_content_region.width
        assert all(strip.cell_length == width for strip in lines(t))
        # one blank line before each entry, none before a tool call
        y, user = line_of(t, "You")
        assert shown[y - 1] == "" and shown[y + 1] == "▎ hello [b]there[/b]"  # text, not markup
        assert shown[y + 2].startswith("▎ ✓ lookup_weather city=Oslo  2.0 ms  → sunny")
        assert shown[y + 3] == ""
        # bars in the theme's colours; the user's row tinted
        assert rgb(bar_style(user).color) == theme(app, "accent")
        assert user.text.startswith("▎ You")  # bar, one column of padding
        _, agent = line_of(t, "concierge")
        assert rgb(bar_style(agent).color) == theme(app, "success")
        assert rgb(bar_style(user).bgcolor) != rgb(bar_style(agent).bgcolor)
        assert "▎ • one" in shown  # Markdown
        _, error = line_of(t, "Model error: model failure (APIStatusError)")
        assert rgb(bar_style(error).color) == theme(app, "error")
        tools = [line_of(t, f"{glyph} lookup_weather")[1] for glyph in "✓✗⋯"]
        assert len({rgb(bar_style(s).color) for s in tools}) == 3  # done, error, running
        assert "running…" in tools[2].text
        y, handoff = line_of(t, "handoff: concierge → billing")
        assert "⇄" in handoff.text
        y, _ = line_of(t, "agent reloaded: agent.py")
        assert set(shown[y - 1]) == {"━"}  # a rule across the transcript
        _, notice = line_of(t, "Restarting the agent…")
        assert all(s.style is None or s.style.italic for s in notice if s.text.strip())


async def test_a_tool_call_is_one_line_with_an_ellipsis() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(60, 20)) as pilot:
        app.feed(call("c1", output="x" * 200))
        await pilot.pause()
        (row,) = [s for s in text(app.transcript) if s]
        assert row.endswith("…") and "xxxx" in row
        assert len([s for s in text(app.transcript) if s]) == 1


async def test_late_items_are_dimmed_and_italic() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 20)) as pilot:
        app.feed(
            it.UserMessage(text="slow", turn_id="t1"),
            it.TurnFinished(status="cancelled", turn_id="t1"),
            it.AgentMessage(text="late reply", turn_id="t1", agent_id="concierge"),
            it.AgentMessage(text="on time", agent_id="concierge"),
        )
        await pilot.pause()
        _, late = line_of(app.transcript, "late reply")
        _, normal = line_of(app.transcript, "on time")
        late_text = next(s for s in late if "late reply" in s.text)
        normal_text = next(s for s in normal if "on time" in s.text)
        assert late_text.style is not None and late_text.style.italic
        assert normal_text.style is not None and not normal_text.style.italic
        assert rgb(late_text.style.color) != rgb(normal_text.style.color)  # faded
        entry = app.transcript.shown[2]
        assert "transcript--late" in app.transcript.classes_of(entry)


async def test_cursor_moves_between_entries_and_enter_activates() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 30)) as pilot:
        t = app.transcript
        app.feed(
            it.UserMessage(text="hi", turn_id="t1"),
            call("c1", output="sunny", turn_id="t1"),
            it.AgentError(message=LLM_ERROR, turn_id="t1"),
            it.AgentMessage(text="done", agent_id="concierge"),
        )
        await pilot.pause()
        assert t.cursor is None
        t.focus()
        await pilot.pause()
        assert t.cursor == 3  # the last entry, without scrolling
        _, before = line_of(t, "done")
        await pilot.press("up")
        assert t.cursor == 2
        _, after = line_of(t, "done")
        assert before.text == after.text and list(before) != list(after)  # highlight gone
        assert "transcript--cursor" in t.highlight_of(t.entries[2])
        # Enter on the error shows its raw messages
        assert not any("type='llm_error'" in s for s in text(t))
        await pilot.press("enter")
        await pilot.pause()
        assert any("type='llm_error'" in s for s in text(t))
        # Enter on a tool call opens its detail
        await pilot.press("up", "enter")
        await pilot.pause()
        assert t.cursor == 1 and app.selected == ["c1"]
        await pilot.press("home")
        assert t.cursor == 0
        await pilot.press("end")
        assert t.cursor == 3


async def test_click_activates_and_hover_highlights_tool_calls() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 20)) as pilot:
        t = app.transcript
        app.feed(it.UserMessage(text="hi"), call("c9", output="sunny"))
        await pilot.pause()
        y, plain = line_of(t, "lookup_weather")
        offset = (10, y + t.gutter.top)
        await pilot.hover(t, offset=offset)
        await pilot.pause()
        assert "transcript--hover" in t.highlight_of(t.entries[1])
        _, hovered = line_of(t, "lookup_weather")
        assert list(hovered) != list(plain)
        await pilot.click(t, offset=offset)
        await pilot.pause()
        assert app.selected == ["c9"] and t.cursor == 1
        # hovering a user message does nothing
        user_y, _ = line_of(t, "hi")
        await pilot.hover(t, offset=(10, user_y + t.gutter.top))
        await pilot.pause()
        assert t.highlight_of(t.entries[0]) == ()


async def test_follows_the_bottom_unless_scrolled_back() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(60, 12)) as pilot:
        t = app.transcript
        app.feed(*[it.AgentMessage(text=f"reply {n}", agent_id="a") for n in range(20)])
        await pilot.pause()
        assert t.scroll_y == t.max_scroll_y > 0
        assert "reply 19" in " ".join(text(t))
        t.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        app.feed(it.AgentMessage(text="while reading", agent_id="a"))
        await pilot.pause()
        assert t.scroll_y == 0  # left alone
        t.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        app.feed(it.AgentMessage(text="following again", agent_id="a"))
        await pilot.pause()
        assert t.scroll_y == t.max_scroll_y and "following again" in " ".join(text(t))


async def test_show_more_by_keyboard_and_the_window_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Transcript, "window", 10)
    monkeypatch.setattr(Transcript, "page", 4)
    monkeypatch.setattr(Transcript, "slack", 2)
    app = TranscriptApp()
    async with app.run_test(size=(60, 80)) as pilot:
        t = app.transcript
        app.feed(*[it.AgentMessage(text=f"reply {n}", agent_id="a") for n in range(15)])
        await pilot.pause()
        assert len(t.shown) == 10 and t.earlier == 5
        assert text(t)[1].strip() == "▲ 5 earlier items: show more"
        # new entries: the window moves once the slack is used up
        app.feed(*[it.AgentMessage(text=f"more {n}", agent_id="a") for n in range(2)])
        assert len(t.shown) == 12 and t.earlier == 5
        app.feed(it.AgentMessage(text="one more", agent_id="a"))
        assert len(t.shown) == 10 and t.earlier == 8
        t.focus()
        await pilot.pause()
        await pilot.press(*["up"] * 9)
        assert t.cursor == 8  # the first one shown
        plain = lines(t)[1]
        await pilot.press("up")  # onto "show more"
        highlighted = lines(t)[1]
        assert t.cursor is None and "▲" in highlighted.text
        assert highlighted.text == plain.text and list(highlighted) != list(plain)
        await pilot.press("enter")  # 4 more, the cursor on the one just above
        await pilot.pause()
        assert t.earlier == 4 and len(t.shown) == 14 and t.cursor == 7
        await pilot.press("home")  # every entry
        assert t.earlier == 0 and t.cursor == 0 and len(t.shown) == 18
        assert "▲" not in " ".join(text(t))


async def test_resize_rewraps_and_stays_at_the_bottom() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(100, 16)) as pilot:
        t = app.transcript
        long = " ".join(f"word{n}" for n in range(60))
        app.feed(*[it.AgentMessage(text=long, agent_id="a") for _ in range(3)])
        await pilot.pause()
        wide = t.virtual_size.height
        assert t.scroll_y == t.max_scroll_y
        await pilot.resize_terminal(50, 16)
        await pilot.pause()
        await pilot.pause()
        width = t.scrollable_content_region.width
        assert t.virtual_size.height > wide
        assert all(strip.cell_length == width for strip in lines(t))
        assert t.scroll_y == t.max_scroll_y
        assert "word59" in text(t)[-1]


async def test_a_notice_is_removed_and_the_cursor_stays_on_its_entry() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 20)) as pilot:
        t = app.transcript
        app.feed(it.UserMessage(text="first"))
        notice = t.add_notice("You (queued)\nhello", classes="queued")
        app.feed(it.UserMessage(text="second"))
        await pilot.pause()
        assert any("You (queued)" in s for s in text(t))
        assert "transcript--notice-queued" in t.classes_of(notice)
        t.focus()
        await pilot.pause()
        second: Entry = t.entries[2]
        assert t.cursor == 2
        t.remove_notice(notice)
        await pilot.pause()
        assert not any("queued" in s for s in text(t))
        assert t.cursor == 1 and t.entries[1] is second
        assert [e.plain.splitlines()[-1] for e in t.shown] == ["first", "second"]


async def test_a_theme_change_redraws_in_the_new_colours() -> None:
    app = TranscriptApp()
    async with app.run_test(size=(80, 20)) as pilot:
        t = app.transcript
        app.feed(it.UserMessage(text="hi"))
        await pilot.pause()
        _, dark = line_of(t, "You")
        app.theme = "textual-light"
        await pilot.pause()
        _, light = line_of(t, "You")
        assert rgb(bar_style(light).color) == theme(app, "accent")
        assert rgb(bar_style(light).bgcolor) != rgb(bar_style(dark).bgcolor)


async def test_the_window_stays_while_the_user_reads_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Transcript, "window", 10)
    monkeypatch.setattr(Transcript, "slack", 2)
    app = TranscriptApp()
    async with app.run_test(size=(60, 12)) as pilot:
        t = app.transcript
        app.feed(*[it.AgentMessage(text=f"reply {n}", agent_id="a") for n in range(15)])
        await pilot.pause()
        assert t.earlier == 5
        t.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        top = text(t)
        app.feed(*[it.AgentMessage(text=f"more {n}", agent_id="a") for n in range(6)])
        await pilot.pause()
        # nothing leaves the layout above the reader, and the view does not move
        assert t.earlier == 5 and len(t.shown) == 16 and t.scroll_y == 0 and text(t) == top
        t.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        app.feed(it.AgentMessage(text="back at the bottom", agent_id="a"))
        await pilot.pause()
        assert t.earlier == 12 and len(t.shown) == 10
        assert t.scroll_y == t.max_scroll_y and "back at the bottom" in " ".join(text(t))
