"""One transcript row widget per chat-item kind.

Every row holds the item it shows in a reactive ``item`` and re-renders itself when
it changes (a tool call is updated in place when its final status arrives). Agent and
tool text is data: it goes into :class:`~textual.content.Content` as plain text or
into the Markdown widget, never through markup. Colours come from the ``.tcss`` file
and theme variables.
"""

from __future__ import annotations

import json
from typing import Any

from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Static

from parley.app.protocol import items as it
from parley.widgets.markdown import markdown_content

INLINE_CAP = 100

TOOL_ICONS = {"running": "⋯", "done": "✓", "error": "✗", "cancelled": "⊘"}


def one_line(text: str, cap: int = INLINE_CAP) -> str:
    """``text`` on one line (whitespace runs folded), at most ``cap`` characters with
    ``…`` marking a cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= cap else flat[: cap - 1] + "…"


def compact_args(arguments: str) -> str:
    """Tool arguments (the model's JSON text) as compact one-line JSON; the raw text
    when it is not JSON."""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False, separators=(", ", ": "))
    except ValueError:
        return arguments


def format_ms(ms: float | None) -> str:
    """``0.8 ms``, ``120 ms``, ``3.2 s``; '' for ``None``."""
    if ms is None:
        return ""
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"


class Row(Widget):
    """Base of every transcript row: ``item`` is the chat item it shows (``None`` for
    a notice that belongs to no item); ``plain`` is its text without styling."""

    DEFAULT_CSS = "Row { height: auto; }"

    item: reactive[Any] = reactive(None, layout=True)

    def __init__(self, item: it.ChatItem | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.set_reactive(Row.item, item)

    @property
    def plain(self) -> str:
        return self.render_content().plain

    def render_content(self) -> Content:
        return Content("")

    def render(self) -> Content:
        return self.render_content()


class UserRow(Row):
    """What the user typed."""

    def render_content(self) -> Content:
        return Content.assemble(("You", "bold $text-accent"), "\n", Content(self.item.text))


class AgentRow(Row):
    """An agent message: the agent's id, then the text rendered as Markdown."""

    def _header(self) -> Content:
        item = self.item
        head = Content.styled(item.agent_id or "Agent", "bold $text-success")
        if item.interrupted:
            head = head + Content.styled(" (interrupted)", "italic $text-muted")
        return head

    @property
    def plain(self) -> str:
        return f"{self._header().plain}\n{self.item.text}"

    def render_content(self) -> Content:
        return Content.assemble(self._header(), "\n", markdown_content(self.item.text))


class ToolRow(Row):
    """One line per function tool call, updated in place; selecting it (click, or
    Enter when focused) posts :class:`ToolRow.Selected`."""

    can_focus = True
    BINDINGS = [("enter", "select", "Show tool call")]

    class Selected(Message):
        def __init__(self, call_id: str) -> None:
            super().__init__()
            self.call_id = call_id

    def watch_item(self, item: it.ToolCall | None) -> None:
        if item is not None:
            for status in TOOL_ICONS:
                self.set_class(item.status == status, f"-{status}")

    def on_mount(self) -> None:
        self.watch_item(self.item)

    def render_content(self) -> Content:
        call: it.ToolCall = self.item
        parts: list[Content | str | tuple[str, str]] = [
            (TOOL_ICONS.get(call.status, "?") + " ", "bold"),
            (call.name, "bold"),
            " ",
            Content.styled(one_line(compact_args(call.arguments), 60), "$text-muted"),
        ]
        output = (call.output or "").strip()
        if call.status == "running":
            parts.append(Content.styled("  running…", "italic"))
        elif call.status == "cancelled":
            parts.append("  cancelled")
        elif output:
            parts += ["  → ", Content(one_line(output))]
        elif call.is_error:
            parts.append("  error")
        if call.duration_ms is not None:
            parts.append(Content.styled(f"  {format_ms(call.duration_ms)}", "$text-muted"))
        return Content.assemble(*parts)

    def on_click(self) -> None:
        self.action_select()

    def action_select(self) -> None:
        self.post_message(self.Selected(self.item.call_id))


class HandoffRow(Row):
    """The agent in charge changed (or the first agent took the session)."""

    def render_content(self) -> Content:
        h: it.Handoff = self.item
        if h.from_agent is None:
            return Content.assemble(("⇄ agent: ", "bold"), Content(h.to_agent))
        return Content.assemble(
            ("⇄ handoff: ", "bold"), Content(h.from_agent), " → ", Content(h.to_agent)
        )


class ErrorRow(Row):
    """An error the agent reported or parley saw, with what to do next."""

    hint = "Press F4 to see the agent log."

    def render_content(self) -> Content:
        return Content.assemble(
            ("✗ ", "bold"), Content(self.item.message.strip()), "\n", (self.hint, "italic")
        )


class TurnEndRow(Row):
    """A turn that did not end ``ok``: error, cancelled or timeout."""

    def on_mount(self) -> None:
        self.add_class(f"-{self.item.status}")

    def render_content(self) -> Content:
        t: it.TurnFinished = self.item
        if t.status == "cancelled":
            return Content.styled("⊘ turn cancelled", "italic")
        if t.status == "timeout":
            return Content.assemble(
                ("✗ turn timed out", "bold"),
                "\n",
                ("The agent may still be working; Esc cancels the turn.", "italic"),
            )
        return Content.assemble(
            ("✗ ", "bold"),
            Content((t.error or "the turn failed").strip()),
            "\n",
            ("Send the message again, or press F4 to see the agent log.", "italic"),
        )


class NoticeRow(Static):
    """A line from parley itself (starting, restarted, not sent…): not a chat item."""

    DEFAULT_CSS = "NoticeRow { height: auto; }"

    item = None

    def __init__(self, text: str, **kwargs: Any) -> None:
        super().__init__(Content(text), **kwargs)
