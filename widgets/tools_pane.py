"""The tool calls pane: every function tool call of the session (the view's tool
blocks), and the full detail of the selected one (name, status, duration,
pretty-printed arguments, output; its progress while it runs)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.css.scalar import Unit
from textual.css.styles import RulesMap
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from parley.app.view import Block, format_ms
from parley.headless.export import pretty_args
from parley.widgets.repaint import LayoutOnlyRefresh
from parley.widgets.rows import clean_text

if TYPE_CHECKING:
    from textual.widgets._option_list import OptionListContent
    from typing_extensions import Self

STATUS_STYLE = {
    "running": "$text-warning",
    "done": "$text-success",
    "error": "$text-error",
    "cancelled": "$text-muted",
}


def tool_summary(block: Block) -> Content:
    """The one-line list entry of a tool call's block: glyph, duration (``—`` while
    unknown), name and the arguments summary, so calls of one tool can be told
    apart."""
    style = STATUS_STYLE.get(block.status, "")
    duration = "" if block.running else format_ms(block.duration_ms)
    return Content.assemble(
        (block.glyph + " ", f"bold {style}"),
        Content.styled(f"{duration:>8} ", "$text-muted"),
        Content.styled(clean_text(block.title), "bold"),
        Content.styled(f" {clean_text(block.args)}".rstrip(), "$text-muted"),
    )


def tool_detail(block: Block) -> Content:
    """Everything about one call: name, status line, output, then arguments and ids
    (the output first, so it shows without scrolling)."""
    style = STATUS_STYLE.get(block.status, "")
    status = block.status
    if not block.running:
        status += f" in {format_ms(block.duration_ms)}"
    where = " · ".join(
        clean_text(x) for x in (block.agent, block.turn_id and f"turn {block.turn_id}") if x
    )
    lines: list[Any] = [
        Content.styled(clean_text(block.title), "bold"),
        "  ",
        Content.styled(status, f"bold {style}"),
        Content.styled(f"  {where}" if where else "", "$text-muted"),
        "\n\n",
        ("Output", "bold underline"),
        "\n",
    ]
    if block.running:
        progress = "\n".join(clean_text(p) for p in block.progress)
        lines.append(Content.styled(progress or "(still running)", "italic"))
    else:
        output = clean_text(block.output) if block.output else "(empty)"
        lines.append(Content.styled(output, "$text-error" if block.failed else ""))
    lines += ["\n\n", ("Arguments", "bold underline"), "\n"]
    lines.append(Content(clean_text(pretty_args(block.arguments)[0]) or "(none)"))
    lines += ["\n\n", Content.styled(f"call {clean_text(block.call_id)}", "$text-muted")]
    return Content.assemble(*lines)


class ToolList(LayoutOnlyRefresh, OptionList):
    """The list of calls. On every layout pass Textual's ``ScrollView`` compares the
    virtual size the compositor passes with the list's own (never equal for a list),
    and refreshes its scrollbars: the scrollbar is repainted in the next frame, which
    widens that frame's update to the whole screen width (and, through a stale flag of
    the compositor, see :mod:`parley.widgets.main_screen`, arranged the screen twice).
    Here the pass is skipped while the list's size and container size are unchanged:
    the list updates its scrollbars itself when options are added
    (``OptionList._update_lines``)."""

    _sizes: tuple[Size, Size] | None = None

    def add_options(self, new_options: Iterable[OptionListContent]) -> Self:
        """Textual's ``add_options``, without repainting the list when the new
        options are below its view (the lines in view do not change; the scrollbar
        repaints itself): a long session's list is full, and repainting its lines
        cost ~0.8 ms of every frame that shows a new tool call."""
        view = self.scrollable_content_region.height
        below = view > 0 and self.virtual_size.height >= round(self.scroll_y) + view
        with self.layout_only(below):
            return super().add_options(new_options)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Textual's (8.2) sum of the options' heights, stopped once it reaches the
        container's height: the list's ``max-height`` (a percentage of its container,
        ``parley.tcss``) cuts it there anyway. Textual sums every option on every
        layout pass that adds one: ~0.7 ms for 250 calls, growing with the session."""
        max_height = self.styles.max_height
        if (
            max_height is None
            or max_height.unit not in (Unit.PERCENT, Unit.HEIGHT)  # of the container
            or max_height.value > 100
            or container.height <= 0
        ):
            return super().get_content_height(container, viewport, width)
        rules = cast(RulesMap, self.styles)
        padding = self.get_component_styles("option-list--option").padding.width
        options = self.options
        height = 0
        for index, option in enumerate(options):
            height += self._get_visual(option).get_height(rules, width - padding)
            if option._divider and index < len(options) - 1:
                height += 1
            if height >= container.height:
                break
        return height

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        if (size, container_size) == self._sizes:
            return False
        self._sizes = (size, container_size)
        return super()._size_updated(size, virtual_size, container_size, layout)


class ToolsPane(Vertical):
    """The list of calls (an :class:`OptionList`, cheap for long sessions) above the
    detail of the highlighted one. :meth:`upsert` per tool item, :meth:`flush` per
    batch."""

    selected: reactive[str | None] = reactive(None)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: dict[str, Block] = {}  # call id -> its block
        self._pending: list[str] = []

    def compose(self) -> ComposeResult:
        yield ToolList(id="tool-list")
        with VerticalScroll(id="tool-detail-scroll"):
            yield Static(
                Content.styled("Select a tool call to see its detail.", "italic"),
                id="tool-detail",
            )

    def on_mount(self) -> None:
        self.border_title = "Tool calls"

    def upsert(self, call: Block) -> None:
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
        self._set_count(f"{len(self.calls)}")

    _count_only = False

    def _set_count(self, count: str) -> None:
        """The count of calls in the bottom border (``border_subtitle``), repainting
        that line only: Textual's setter repaints every line of the pane's border
        (~0.7 ms of every frame that shows a new tool call)."""
        if count == self.border_subtitle:
            return
        self._count_only = True
        try:
            self.border_subtitle = count
        finally:
            self._count_only = False

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False,
        recompose: bool = False,
    ) -> Self:  # fmt: skip
        if self._count_only and not regions and self.is_mounted:
            # regions are relative to the content area: the bottom border line
            x, y = self.content_offset
            width, height = self.outer_size
            regions = (Region(-x, height - 1 - y, width, 1),)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

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

    def _show(self, call: Block) -> None:
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
