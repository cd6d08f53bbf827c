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
from parley.widgets.rows import TOOL_ICONS, args_summary, clean_text, format_ms

STATUS_STYLE = {
    "running": "$text-warning",
    "done": "$text-success",
    "error": "$text-error",
    "cancelled": "$text-muted",
}


def tool_summary(call: it.ToolCall) -> Content:
    """The one-line list entry: status icon, duration (``—`` while unknown), name and
    an argument summary, so calls of one tool can be told apart."""
    style = STATUS_STYLE.get(call.status, "")
    duration = "" if call.status == "running" else format_ms(call.duration_ms)
    return Content.assemble(
        (TOOL_ICONS.get(call.status, "?") + " ", f"bold {style}"),
        Content.styled(f"{duration:>8} ", "$text-muted"),
        Content.styled(clean_text(call.name), "bold"),
        Content.styled(f" {args_summary(call.arguments, 40)}".rstrip(), "$text-muted"),
    )


def tool_detail(call: it.ToolCall) -> Content:
    """Everything about one call: name, status line, output, then arguments and ids
    (the output first, so it shows without scrolling)."""
    style = STATUS_STYLE.get(call.status, "")
    status: str = call.status
    if call.status != "running":
        status += f" in {format_ms(call.duration_ms)}"
    where = " · ".join(
        clean_text(x) for x in (call.agent_id, call.turn_id and f"turn {call.turn_id}") if x
    )
    lines: list[Any] = [
        Content.styled(clean_text(call.name), "bold"),
        "  ",
        Content.styled(status, f"bold {style}"),
        Content.styled(f"  {where}" if where else "", "$text-muted"),
        "\n\n",
        ("Output", "bold underline"),
        "\n",
    ]
    if call.status == "running":
        lines.append(Content.styled("(still running)", "italic"))
    else:
        output = clean_text(call.output) if call.output else "(empty)"
        lines.append(Content.styled(output, "$text-error" if call.is_error else ""))
    lines += ["\n\n", ("Arguments", "bold underline"), "\n"]
    lines.append(Content(clean_text(pretty_args(call.arguments)[0]) or "(none)"))
    lines += ["\n\n", Content.styled(f"call {clean_text(call.call_id)}", "$text-muted")]
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

    def on_descendant_focus(self) -> None:
        """Focusing the list (F2 on a narrow screen, Tab) shows the newest call."""
        option_list = self.query_one("#tool-list", OptionList)
        if option_list.highlighted is None and option_list.option_count:
            option_list.highlighted = option_list.option_count - 1

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
