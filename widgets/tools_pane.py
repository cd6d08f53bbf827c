"""The tool calls pane: every function tool call of the session, and the full detail
of the selected one (name, status, duration, pretty-printed arguments, output)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from parley.app.protocol import items as it
from parley.headless.export import pretty_args
from parley.widgets.rows import TOOL_ICONS, format_ms

STATUS_STYLE = {
    "running": "$text-warning",
    "done": "$text-success",
    "error": "$text-error",
    "cancelled": "$text-muted",
}


def tool_summary(call: it.ToolCall) -> Content:
    """The one-line list entry: status icon, name, duration."""
    style = STATUS_STYLE.get(call.status, "")
    parts: list[Any] = [
        (TOOL_ICONS.get(call.status, "?") + " ", f"bold {style}"),
        Content(call.name),
    ]
    if call.duration_ms is not None:
        parts.append(Content.styled(f"  {format_ms(call.duration_ms)}", "$text-muted"))
    return Content.assemble(*parts)


def tool_detail(call: it.ToolCall) -> Content:
    """Everything about one call, as plain text with light styling."""
    style = STATUS_STYLE.get(call.status, "")
    status = call.status + (f" in {format_ms(call.duration_ms)}" if call.duration_ms else "")
    lines: list[Any] = [
        Content.styled(call.name, "bold"),
        "\n",
        Content.assemble(("status  ", "$text-muted"), (status, f"bold {style}")),
        "\n",
        Content.assemble(("call    ", "$text-muted"), Content(call.call_id)),
    ]
    if call.agent_id:
        lines += ["\n", Content.assemble(("agent   ", "$text-muted"), Content(call.agent_id))]
    if call.turn_id:
        lines += ["\n", Content.assemble(("turn    ", "$text-muted"), Content(call.turn_id))]
    lines += ["\n\n", ("Arguments", "bold underline"), "\n"]
    lines.append(Content(pretty_args(call.arguments)[0] or "(none)"))
    lines += ["\n\n", ("Output", "bold underline"), "\n"]
    if call.status == "running":
        lines.append(Content.styled("(still running)", "italic"))
    else:
        output = call.output if call.output else "(empty)"
        lines.append(Content.styled(output, "$text-error" if call.is_error else ""))
    return Content.assemble(*lines)


class ToolsPane(Vertical):
    """The list of calls (an :class:`OptionList`, cheap for long sessions) above the
    detail of the highlighted one. :meth:`upsert` per tool item, :meth:`flush` per
    batch."""

    selected: reactive[str | None] = reactive(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: dict[str, it.ToolCall] = {}
        self._pending: list[str] = []

    def compose(self) -> ComposeResult:
        yield OptionList(id="tool-list")
        with VerticalScroll(id="tool-detail-scroll"):
            yield Static(
                Content.styled("Select a tool call to see its detail.", "italic"),
                id="tool-detail",
            )

    def on_mount(self) -> None:
        self.border_title = "Tool calls"

    def upsert(self, call: it.ToolCall) -> None:
        known = call.call_id in self.calls
        self.calls[call.call_id] = call
        if not known:
            self._pending.append(call.call_id)
            return
        if call.call_id in self._pending:
            return
        option_list = self.query_one("#tool-list", OptionList)
        option_list.replace_option_prompt(call.call_id, tool_summary(call))
        if self.selected == call.call_id:
            self._show(call)

    def flush(self) -> None:
        if not self._pending:
            return
        option_list = self.query_one("#tool-list", OptionList)
        option_list.add_options(
            Option(tool_summary(self.calls[cid]), id=cid) for cid in self._pending
        )
        self._pending.clear()
        self.border_subtitle = f"{len(self.calls)}"

    def select(self, call_id: str) -> None:
        """Highlight ``call_id`` in the list and show its detail."""
        if call_id not in self.calls:
            return
        self.flush()
        option_list = self.query_one("#tool-list", OptionList)
        option_list.highlighted = option_list.get_option_index(call_id)
        self.selected = call_id

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.selected = event.option.id

    def watch_selected(self, call_id: str | None) -> None:
        if call_id is not None and call_id in self.calls:
            self._show(self.calls[call_id])

    def _show(self, call: it.ToolCall) -> None:
        self.query_one("#tool-detail", Static).update(tool_detail(call))

    def clear(self) -> None:
        self.calls.clear()
        self._pending.clear()
        self.query_one("#tool-list", OptionList).clear_options()
        self.selected = None
        self.border_subtitle = ""
        self.query_one("#tool-detail", Static).update(
            Content.styled("Select a tool call to see its detail.", "italic")
        )
