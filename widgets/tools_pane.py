"""The tool calls pane: every function tool call of the session (the view's tool
blocks), and the full detail of the selected one (name, status, duration,
pretty-printed arguments, output; its progress while it runs)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.visual import Visual
from textual.widgets import Static

from parley.app.view import Block, format_ms
from parley.headless.export import pretty_args
from parley.widgets.rows import clean_text

if TYPE_CHECKING:
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


class ToolList(ScrollView, can_focus=True):
    """The list of calls, one line each (:func:`tool_summary`, cut with an ellipsis
    to the width), drawn with Textual's Line API. A cursor (the highlight) moves with
    Up/Down/Home/End/PageUp/PageDown, a click or :meth:`highlight`, and posts
    :class:`Highlighted`; the pointer highlights the call under it (hover). The view
    follows new calls while it is at the bottom.

    Adding calls costs the new lines only: a call added below the view (the user
    scrolled back) repaints nothing but the scrollbar; lines are drawn once per
    (call, width, state) and cached."""

    class Highlighted(Message):
        """The highlight moved to the call ``call_id`` (index ``index``)."""

        def __init__(self, call_id: str, index: int) -> None:
            super().__init__()
            self.call_id = call_id
            self.index = index

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("pageup", "page(-1)", "Page Up", show=False),
        Binding("pagedown", "page(1)", "Page Down", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "tool-list--call",
        "tool-list--highlighted",
        "tool-list--hover",
    }

    # the look of Textual's OptionList (its highlight and hover colours)
    DEFAULT_CSS = """
    ToolList {
        height: auto;
        max-height: 100%;
        overflow-x: hidden;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        & > .tool-list--highlighted {
            color: $foreground;
            background: $block-cursor-blurred-background;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .tool-list--highlighted {
                color: $block-cursor-foreground;
                background: $block-cursor-background;
                text-style: $block-cursor-text-style;
            }
        }
        & > .tool-list--hover {
            background: $block-hover-background;
        }
    }
    """

    #: lines kept drawn (call, width, state)
    cache_size = 1024

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ids: list[str] = []  # call ids, in list order
        self._index: dict[str, int] = {}  # call id -> its line
        self._prompts: list[Content] = []
        self._versions: list[int] = []  # bumped when a call's line changes
        self._lines: LRUCache[tuple[int, int, int, str], Strip] = LRUCache(self.cache_size)
        #: the line of the highlighted call
        self.highlighted: int | None = None
        self._hover: int | None = None

    # -- the model ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, call_id: str) -> int | None:
        return self._index.get(call_id)

    def add(self, calls: Iterable[tuple[str, Content]]) -> None:
        """Append ``(call id, summary)`` lines (ids not yet in the list)."""
        start = len(self.ids)
        for call_id, prompt in calls:
            self._index[call_id] = len(self.ids)
            self.ids.append(call_id)
            self._prompts.append(prompt)
            self._versions.append(0)
        if len(self.ids) == start:
            return
        size = Size(0, len(self.ids))
        view = self.scrollable_content_region.height
        if not self._following and view > 0 and start >= self._top + view:
            # below the view: its lines do not change; the layout pass that follows
            # updates the scrollbar (no repaint of the list's lines)
            self.set_reactive(ToolList.virtual_size, size)
            self.refresh(repaint=False, layout=True)
            return
        following = self._following
        self.virtual_size = size
        if following:
            self._scroll_to_end()

    def replace(self, call_id: str, prompt: Content) -> None:
        """The call's line is now ``prompt`` (repaints that line)."""
        index = self._index[call_id]
        self._prompts[index] = prompt
        self._versions[index] += 1
        self._refresh_line(index)

    def clear(self) -> None:
        self.ids.clear()
        self._index.clear()
        self._prompts.clear()
        self._versions.clear()
        self._lines.clear()
        self.highlighted = self._hover = None
        self._following = True
        self.virtual_size = Size(0, 0)
        self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    # -- scrolling ------------------------------------------------------------------

    #: the view is at the bottom (new calls scroll it), as of the last scroll
    _following = True

    @property
    def _top(self) -> int:
        """The first line in view. While following, the bottom of the list at the
        current size: a call that makes the list taller is drawn in place in the
        frame that grows it (``scroll_y`` catches up on the Resize)."""
        if self._following:
            return max(0, len(self.ids) - self.scrollable_content_region.height)
        return round(self.scroll_y)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._following = new_value >= self.max_scroll_y

    def _scroll_to_end(self) -> None:
        self.scroll_target_y = self.scroll_y = self.max_scroll_y
        self.vertical_scrollbar.position = self.scroll_y

    def on_resize(self, event: events.Resize) -> None:
        if self._following:
            self._scroll_to_end()
            self.refresh()

    # -- drawing --------------------------------------------------------------------

    def notify_style_update(self) -> None:
        """A theme or focus change: lines are drawn again."""
        super().notify_style_update()
        self._lines.clear()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = y + self._top
        if not 0 <= index < len(self.ids) or width <= 0:
            return Strip.blank(max(0, width), self.get_visual_style("tool-list--call").rich_style)
        state = ""
        if index == self.highlighted:
            state = "tool-list--highlighted"
        elif index == self._hover:
            state = "tool-list--hover"
        key = (index, self._versions[index], width, state)
        strip = self._lines.get(key)
        if strip is None:
            names = ("tool-list--call", state) if state else ("tool-list--call",)
            style = self.get_visual_style(*names)
            strips = Visual.to_strips(self, self._prompts[index], width, 1, style)
            strip = strips[0].crop_extend(0, width, style.rich_style)
            self._lines[key] = strip
        return strip

    def _refresh_line(self, index: int | None) -> None:
        if index is not None:
            top = self._top
            self.refresh(Region(0, index - top, self.size.width, 1))

    # -- highlight, keys and pointer ------------------------------------------------

    def highlight(self, index: int | None, scroll: bool = True) -> None:
        """Move the highlight to line ``index`` (clamped to the list), scroll it into
        view, and post :class:`Highlighted`."""
        if index is not None:
            if not self.ids:
                index = None
            else:
                index = max(0, min(index, len(self.ids) - 1))
        old, self.highlighted = self.highlighted, index
        if old != index:
            self._refresh_line(old)
            self._refresh_line(index)
        if index is None:
            return
        if scroll:
            self._scroll_to_line(index)
        if old != index:
            self.post_message(self.Highlighted(self.ids[index], index))

    def _scroll_to_line(self, index: int) -> None:
        view = self.scrollable_content_region.height
        top = self._top
        if view <= 0 or top <= index < top + view:
            return
        y = index if index < top else index - view + 1
        self.scroll_to(y=y, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        if self.highlighted is None:
            self.highlight(0 if step > 0 else len(self.ids) - 1)
        else:
            self.highlight(self.highlighted + step)

    def action_first(self) -> None:
        self.highlight(0)

    def action_last(self) -> None:
        self.highlight(len(self.ids) - 1)

    def action_page(self, direction: int) -> None:
        if self.highlighted is None:
            self.action_last() if direction > 0 else self.action_first()
            return
        step = max(1, self.scrollable_content_region.height)
        self.highlight(self.highlighted + direction * step)

    def _line_at(self, event: events.MouseEvent) -> int | None:
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        index = offset.y + self._top
        return index if 0 <= index < len(self.ids) else None

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self._line_at(event))

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover(None)

    def _set_hover(self, index: int | None) -> None:
        if index != self._hover:
            old, self._hover = self._hover, index
            self._refresh_line(old)
            self._refresh_line(index)

    def on_click(self, event: events.Click) -> None:
        index = self._line_at(event)
        if index is not None:
            event.stop()
            self.highlight(index)


class ToolsPane(Vertical):
    """The list of calls (a :class:`ToolList`, cheap for long sessions) above the
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
        self.query_one("#tool-list", ToolList).replace(call.call_id, tool_summary(call))
        if self.selected == call.call_id:
            self._show(call)

    def flush(self) -> None:
        if not self._pending:
            return
        self.query_one("#tool-list", ToolList).add(
            (cid, tool_summary(self.calls[cid])) for cid in self._pending
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
        tool_list = self.query_one("#tool-list", ToolList)
        if tool_list.highlighted is None and len(tool_list):
            tool_list.highlight(len(tool_list) - 1)

    def select(self, call_id: str) -> None:
        """Highlight ``call_id`` in the list and show its detail."""
        if call_id not in self.calls:
            return
        self.flush()
        tool_list = self.query_one("#tool-list", ToolList)
        tool_list.highlight(tool_list.index_of(call_id))
        self.selected = call_id

    def on_tool_list_highlighted(self, event: ToolList.Highlighted) -> None:
        self.selected = event.call_id

    def watch_selected(self, call_id: str | None) -> None:
        if call_id is not None and call_id in self.calls:
            self._show(self.calls[call_id])

    def _show(self, call: Block) -> None:
        self.query_one("#tool-detail", Static).update(tool_detail(call))

    def clear(self) -> None:
        self.calls.clear()
        self._pending.clear()
        self.query_one("#tool-list", ToolList).clear()
        self.selected = None
        self.border_subtitle = ""
        self.query_one("#tool-detail", Static).update(
            Content.styled("Select a tool call to see its detail.", "italic")
        )
