"""The transcript: the session's visible items in order, drawn as one widget with
Textual's Line API (:class:`~textual.scroll_view.ScrollView` and ``render_line``).

Every item the view shows (a :class:`~parley.app.view.Block`) and every notice from
parley itself is an :class:`Entry`. An entry's text comes from
:mod:`parley.widgets.rows`; the transcript wraps it to its width and draws its
coloured bar, padding, background and the blank line before it, from the
``transcript--*`` component classes styled in ``parley.tcss`` (theme variables, so
every theme works). The lines of an entry are cached per width and state (cursor,
hover), in a bounded cache: appending an item renders that item's lines only,
grows ``virtual_size`` and repaints the lines that changed.

Long sessions: every shown entry's height must be known (the scrollbar), so only the
newest :attr:`Transcript.window` entries are laid out; a "▲ K earlier items: show
more" line at the top (Enter or a click) lays out :attr:`Transcript.page` more. The
view follows the bottom while the user is there and is left alone while they scroll
back.

The transcript is one focus target: Up/Down (Home/End) move a cursor between
entries, Enter (or a click) activates the entry: a tool call posts
:class:`Transcript.ToolSelected` (its detail in the tools pane), an error shows its
raw messages. Focusing it never scrolls.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from itertools import count
from typing import ClassVar, NamedTuple

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual

from parley.app.protocol import items as it
from parley.app.view import Block
from parley.widgets.rows import block_content, block_plain, notice_content

_uids = count()

#: the bar drawn for a ``border-left`` type of a component class (others: ``wide``'s)
_BARS = {"wide": "▎", "outer": "▌", "inner": "▐", "tall": "▊", "thick": "█", "heavy": "┃",
         "solid": "│", "round": "│", "double": "║", "ascii": "|", "vkey": "▏"}  # fmt: skip
#: the rule drawn for a ``border-top`` type (others: ``heavy``'s)
_RULES = {"heavy": "━", "solid": "─", "round": "─", "double": "═", "thick": "█", "tall": "▔",
          "outer": "▀", "wide": "▔", "ascii": "-", "hkey": "▔"}  # fmt: skip
_NO_BORDER = ("", "none", "hidden", "blank")
#: the index that stands for the "earlier items" line (cursor, hover)
_EARLIER = -1


class Entry:
    """One thing the transcript shows: an :class:`ItemEntry` or a :class:`Notice`."""

    #: the block of the view it shows (``None`` for a notice)
    block: Block | None = None
    #: an error shows its raw messages
    expanded = False

    def __init__(self) -> None:
        #: bumped each time what the entry shows changes (keys its cached lines)
        self.version = 0
        self.uid = next(_uids)

    @property
    def item(self) -> it.ChatItem | None:
        """The newest chat item folded into the block (``None`` for a notice)."""
        return None

    @property
    def kind(self) -> str:
        """The block's kind (:data:`parley.app.view.Kind`), or ``"notice"``."""
        return "notice"

    @property
    def late(self) -> bool:
        """An item of a cancelled turn (dimmed and labelled)."""
        return False

    def content(self) -> Content:
        """What the entry says (:mod:`parley.widgets.rows`)."""
        return Content()

    @property
    def plain(self) -> str:
        """The entry as plain text (an agent message's Markdown as its source)."""
        return self.content().plain


class ItemEntry(Entry):
    """A view's block, replaced in place as it changes (a tool call's progress and
    result, a failed turn joining its error)."""

    block: Block

    def __init__(self, block: Block) -> None:
        super().__init__()
        self.block = block

    @property
    def item(self) -> it.ChatItem:
        return self.block.item

    @property
    def kind(self) -> str:
        return self.block.kind

    @property
    def late(self) -> bool:
        return bool(self.block.late)

    def content(self) -> Content:
        return block_content(self.block, self.expanded)

    @property
    def plain(self) -> str:
        return block_plain(self.block, self.expanded)


class Notice(Entry):
    """A line from parley itself: ``text`` (it may quote an agent log: ANSI colour),
    its variants in ``classes`` (``queued``, ``error``, ``end-of-recording``,
    ``starting``)."""

    def __init__(self, text: str, classes: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.text = text
        self.classes = classes

    def content(self) -> Content:
        return notice_content(self.text)


class _Look(NamedTuple):
    """How an entry is drawn, from its component classes."""

    style: Style  # text: colour, background, text style
    row: RichStyle  # padding and blank cells: the background
    bar: tuple[str, RichStyle] | None  # left bar
    rule: tuple[str, RichStyle] | None  # top rule
    padding: tuple[int, int, int, int]  # top, right, bottom, left
    gap: int  # blank lines before the entry
    nowrap: bool
    ellipsis: bool
    opacity: float
    base: Color  # what an opacity below 1 fades towards


class _Layout:
    """Where the shown entries' lines are: ``tops[k]`` is the first line of shown
    entry ``k`` (after its gap), ``heights[k]`` its number of lines."""

    def __init__(self) -> None:
        self.tops: list[int] = []
        self.heights: list[int] = []
        self.gaps: list[int] = []
        self.header = 0  # lines above the first entry (the "earlier items" line)

    @property
    def height(self) -> int:
        if not self.tops:
            return self.header
        return self.tops[-1] + self.heights[-1]

    def append(self, gap: int, height: int) -> None:
        self.tops.append(self.height + gap)
        self.heights.append(height)
        self.gaps.append(gap)

    def restack(self, start: int = 0) -> None:
        """Recompute the tops from shown entry ``start`` on (heights or gaps changed)."""
        y = self.header if start == 0 else self.tops[start - 1] + self.heights[start - 1]
        for k in range(start, len(self.tops)):
            y += self.gaps[k]
            self.tops[k] = y
            y += self.heights[k]

    def find(self, y: int) -> tuple[int, int] | None:
        """The shown entry at line ``y`` and the line within it, or ``None`` (a gap)."""
        k = bisect_right(self.tops, y) - 1
        if k < 0 or y - self.tops[k] >= self.heights[k]:
            return None
        return k, y - self.tops[k]


class Transcript(ScrollView, can_focus=True):
    """See the module docstring. Call :meth:`show` for each update of the view, then
    :meth:`flush` once per batch."""

    class ToolSelected(Message):
        """Enter or a click on a tool call: show its detail."""

        def __init__(self, call_id: str) -> None:
            super().__init__()
            self.call_id = call_id

    BINDINGS = [
        Binding("up", "cursor(-1)", "Previous row", id="row_up", show=False),
        Binding("down", "cursor(1)", "Next row", id="row_down", show=False),
        Binding("home", "cursor_home", "First row", id="row_first", show=False),
        Binding("end", "cursor_end", "Last row", id="row_last", show=False),
        Binding("enter", "activate", "Open", id="row_open",
                tooltip="Open the row under the cursor: a tool call's detail, an error's "
                "messages."),
    ]  # fmt: skip

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "transcript--entry",
        "transcript--user",
        "transcript--agent",
        "transcript--tool",
        "transcript--tool-running",
        "transcript--tool-done",
        "transcript--tool-error",
        "transcript--tool-cancelled",
        "transcript--handoff",
        "transcript--error",
        "transcript--ended",
        "transcript--turn-end",
        "transcript--turn-cancelled",
        "transcript--turn-timeout",
        "transcript--reload",
        "transcript--reload-error",
        "transcript--notice",
        "transcript--notice-queued",
        "transcript--notice-error",
        "transcript--notice-end-of-recording",
        "transcript--late",
        "transcript--cursor",
        "transcript--hover",
        "transcript--earlier",
    }

    DEFAULT_CSS = """
    Transcript {
        overflow-x: hidden;
        scrollbar-gutter: stable;
    }
    """

    #: entries laid out at the bottom (more while the user reads back)
    window = 500
    #: entries laid out by each "show more"
    page = 200
    #: entries beyond the window laid out before the window moves (it moves in steps)
    slack = 50
    #: rendered entries kept (lines per entry, width and state)
    cache_size = 1500

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.entries: list[Entry] = []
        self._keys: dict[str, ItemEntry] = {}  # block key -> its entry
        self._start = 0  # index of the first shown entry
        self._laid = 0  # entries before this index are laid out
        self._stack = _Layout()
        self._width = 0  # the width the layout is for
        self._changed: set[int] = set()  # uids of laid-out entries whose block changed
        self._lines: OrderedDict[tuple[object, ...], list[Strip]] = OrderedDict()
        self._contents: OrderedDict[tuple[int, int], Content] = OrderedDict()
        self._looks: dict[tuple[str, ...], _Look] = {}
        #: index into entries of the entry under the cursor
        self.cursor: int | None = None
        self._cursor_earlier = False  # the cursor is on the "earlier items" line
        self._hover: int | None = None  # the tool call (or _EARLIER) under the pointer

    # -- the model ------------------------------------------------------------------

    def show(self, block: Block) -> ItemEntry:
        """Show ``block`` in its entry (by its key), or add an entry for it if it is
        new here; :meth:`flush` draws it."""
        entry = self._keys.get(block.key)
        if entry is None:
            entry = self._keys[block.key] = ItemEntry(block)
            self.entries.append(entry)
            return entry
        entry.block = block
        entry.version += 1
        self._changed.add(entry.uid)
        return entry

    def add_notice(self, text: str, classes: str = "") -> Notice:
        """A line from parley itself, after the entries so far; ``classes``: its
        variants (``queued``, ``error``, ``end-of-recording``). Shown at once."""
        entry = Notice(text, frozenset(classes.split()))
        self.entries.append(entry)
        self.flush()
        return entry

    def remove_notice(self, entry: Notice) -> None:
        """Take a notice of :meth:`add_notice` away (no-op if it is gone)."""
        if entry not in self.entries:
            return
        index = self.entries.index(entry)
        self.entries.pop(index)
        if self.cursor is not None and self.cursor >= index:
            self.cursor = None if self.cursor == index else self.cursor - 1
        self._hover = None
        if index < self._laid:
            self._laid -= 1
            if index < self._start:
                self._start -= 1
            self._relayout()

    @property
    def shown(self) -> list[Entry]:
        """The entries laid out (the newest :attr:`window`, or more), top to bottom."""
        return self.entries[self._start : self._laid]

    @property
    def items(self) -> list[it.ChatItem]:
        """The newest chat item of every entry that is not a notice, in order."""
        return [e.block.item for e in self.entries if isinstance(e, ItemEntry)]

    @property
    def earlier(self) -> int:
        """How many entries are above the shown ones (behind "show more")."""
        return self._start

    def clear(self) -> None:
        """Forget every entry (the session keeps its items)."""
        self.entries.clear()
        self._keys.clear()
        self._changed.clear()
        self._lines.clear()
        self._contents.clear()
        self.cursor = self._hover = None
        self._cursor_earlier = False
        self._start = self._laid = 0
        self._relayout()

    # -- layout -----------------------------------------------------------------------

    def flush(self) -> None:
        """Lay out the entries added since the last flush and redraw the changed ones;
        while the view follows the bottom, entries beyond :attr:`window` leave the
        layout."""
        if self._width <= 0:
            return  # laid out on the first resize
        following = self._following
        layout = self._stack
        changed_from: int | None = None
        if self._changed:
            first: int | None = None
            for k, entry in enumerate(self.shown):
                if entry.uid in self._changed:
                    height = len(self._entry_lines(entry))
                    if height != layout.heights[k]:
                        layout.heights[k] = height
                        first = k if first is None else first
                    self.refresh_lines(layout.tops[k] - layout.gaps[k],
                                       layout.gaps[k] + height)  # fmt: skip
            self._changed.clear()
            if first is not None:
                layout.restack(first)
                changed_from = layout.tops[first]
        new = self.entries[self._laid :]
        if new:
            if len(self.entries) - self._start > self.window + self.slack and following:
                self._start = len(self.entries) - self.window
                self._laid = len(self.entries)
                self._changed.clear()
                self._relayout(following=True)
                return
            changed_from = layout.height if changed_from is None else changed_from
            for entry in self.entries[self._laid :]:
                layout.append(self._look(entry).gap, len(self._entry_lines(entry)))
            self._laid = len(self.entries)
        if changed_from is not None:
            self._resized(following, changed_from)

    def _resized(self, following: bool, changed_from: int) -> None:
        """The layout's height (or the lines from ``changed_from`` on) changed."""
        self.virtual_size = Size(self._width, self._stack.height)
        if following:
            self._scroll_to_end()
        self.refresh_lines(changed_from, max(0, self._stack.height - changed_from) + 1)

    def _relayout(self, following: bool | None = None, keep_view: bool = False) -> None:
        """Lay out every shown entry again (a new width, the window moved)."""
        if following is None:
            following = self._following
        old_height = self._stack.height
        layout = self._stack = _Layout()
        layout.header = 2 if self._start > 0 else 0
        if self._width > 0:
            for entry in self.entries[self._start : self._laid]:
                layout.append(self._look(entry).gap, len(self._entry_lines(entry)))
        self.virtual_size = Size(max(0, self._width), layout.height)
        if following:
            self._scroll_to_end()
        elif keep_view:
            self.scroll_to(y=self.scroll_y + layout.height - old_height,
                           animate=False, immediate=True)  # fmt: skip
        self.refresh()

    #: the view is at the bottom (new lines scroll it), as of the last scroll; a
    #: new size or new lines do not change it (Textual's anchor works for containers
    #: only, whose children the compositor places)
    _following = True

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._following = new_value >= self.max_scroll_y

    def _scroll_to_end(self) -> None:
        """To the bottom now. (``scroll_end`` waits for the layout pass that shows the
        scrollbar when the content first overflows: a frame later.) The scrollbar,
        not shown yet then, gets the position too."""
        self.scroll_target_y = self.scroll_y = self.max_scroll_y
        self.vertical_scrollbar.position = self.scroll_y

    def on_resize(self, event: events.Resize) -> None:
        width = self.scrollable_content_region.width
        following = self._following
        if width == self._width:
            if following:  # a taller or shorter view: still at the bottom
                self._scroll_to_end()
        else:
            self._width = width
            if self._laid < len(self.entries) and len(self.entries) - self._start > self.window:
                self._start = len(self.entries) - self.window
            self._laid = len(self.entries)
            self._changed.clear()
            self._relayout(following)

    def notify_style_update(self) -> None:
        """A theme or pseudo-class change: entries are drawn again (their heights do
        not depend on colours)."""
        super().notify_style_update()
        self._looks.clear()
        self._lines.clear()
        self.refresh()

    def show_earlier(self) -> None:
        """Lay out up to :attr:`page` more entries above the shown ones (the view keeps
        showing what it showed)."""
        if self._start == 0:
            return
        self._start = max(0, self._start - self.page)
        self._relayout(following=False, keep_view=True)

    # -- drawing ----------------------------------------------------------------------

    def classes_of(self, entry: Entry) -> tuple[str, ...]:
        """The component classes ``entry`` is drawn with (``transcript--…``, see
        ``parley.tcss``), without the cursor and hover ones."""
        kind = entry.kind.replace("_", "-")
        names = ["transcript--entry", f"transcript--{kind}"]
        if isinstance(entry, Notice):
            names += [f"transcript--notice-{c}" for c in sorted(entry.classes)]
        elif isinstance(entry, ItemEntry):
            status = entry.block.status
            if kind == "tool":
                names.append(f"transcript--tool-{status}")
            elif kind == "turn-end":
                names.append(f"transcript--turn-{status}")
            elif kind == "reload" and status == "error":
                names.append("transcript--reload-error")
        if entry.late:
            names.append("transcript--late")
        return tuple(n for n in names if n in self.COMPONENT_CLASSES)

    def highlight_of(self, entry: Entry) -> tuple[str, ...]:
        """The component classes drawn over ``entry`` now: ``transcript--cursor``,
        ``transcript--hover``."""
        return self._state(self.entries.index(entry))

    def _state(self, index: int) -> tuple[str, ...]:
        """The highlight classes of the entry at ``index`` (or the "earlier" line)."""
        cursor = self._cursor_earlier if index == _EARLIER else self.cursor == index
        return (("transcript--cursor",) if cursor else ()) + (
            ("transcript--hover",) if self._hover == index else ()
        )

    def _look(self, entry: Entry | None, state: tuple[str, ...] = ()) -> _Look:
        names = (self.classes_of(entry) if entry is not None else ("transcript--earlier",)) + state
        key = (*names, "focus") if state and self.has_focus else names
        look = self._looks.get(key)
        if look is None:
            look = self._looks[key] = self._make_look(names)
        return look

    def _make_look(self, names: tuple[str, ...]) -> _Look:
        styles = self.get_component_styles(*names)
        style = self.get_visual_style(*names)
        background = style.background or Color(0, 0, 0, 0)
        row = RichStyle.from_color(bgcolor=background.rich_color)
        bar = rule = None
        kind, color = styles.border_left
        if kind not in _NO_BORDER:
            bar = (_BARS.get(kind, "▎"), RichStyle.from_color((background + color).rich_color,
                                                              background.rich_color))  # fmt: skip
        kind, color = styles.border_top
        if kind not in _NO_BORDER:
            rule = (_RULES.get(kind, "━"), RichStyle.from_color((background + color).rich_color,
                                                               background.rich_color))  # fmt: skip
        top, right, bottom, left = styles.padding
        return _Look(
            style=style,
            row=row,
            bar=bar,
            rule=rule,
            padding=(top, right, bottom, left),
            gap=styles.margin.top,
            nowrap=styles.text_wrap == "nowrap",
            ellipsis=styles.text_overflow == "ellipsis",
            opacity=styles.opacity,
            base=self.get_visual_style().background or Color(0, 0, 0, 0),
        )

    def _content(self, entry: Entry) -> Content:
        key = (entry.uid, entry.version)
        content = self._contents.get(key)
        if content is None:
            content = self._contents[key] = entry.content()
            if len(self._contents) > self.cache_size:
                self._contents.popitem(last=False)
        else:
            self._contents.move_to_end(key)
        return content

    def _entry_lines(self, entry: Entry, index: int | None = None) -> list[Strip]:
        """The lines of ``entry`` (at ``index`` in :attr:`entries`, for its cursor and
        hover state) at the layout's width."""
        state = self._state(index) if index is not None else ()
        focus = bool(state) and self.has_focus
        key = (entry.uid, entry.version, entry.expanded, self._width, state, focus)
        lines = self._lines.get(key)
        if lines is not None:
            self._lines.move_to_end(key)
            return lines
        look = self._look(entry, state)
        content = self._content(entry)
        if look.nowrap:
            content = content.split("\n")[0]
        lines = self._box(look, content)
        self._lines[key] = lines
        if len(self._lines) > self.cache_size:
            self._lines.popitem(last=False)
        return lines

    def _box(self, look: _Look, content: Content, align: str = "left") -> list[Strip]:
        """``content`` in an entry's box: bar, padding, background, top rule."""
        width = self._width
        top, right, bottom, left = look.padding
        bar = [Segment(*look.bar)] if look.bar else []
        inner = max(1, width - len(bar) - left - right)
        if look.nowrap:
            content = content.truncate(inner, ellipsis=look.ellipsis)
        if align == "center":
            content = content.center(inner)
        body = Visual.to_strips(self, content, inner, None, look.style)
        if look.nowrap:
            body = body[:1]
        blank = Strip.blank(inner, look.row)
        before = [*bar, Segment(" " * left, look.row)] if left else bar
        after = [Segment(" " * right, look.row)] if right else []
        lines = [
            Strip([*before, *strip.crop_extend(0, inner, look.row), *after], width)
            for strip in [blank] * top + body + [blank] * bottom
        ]
        if look.rule:
            char, style = look.rule
            lines.insert(0, Strip([Segment(char * width, style)], width))
        if look.opacity < 1:
            lines = [_fade(line, look.base, look.opacity) for line in lines]
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        strip = self._line(y + round(self.scroll_y))
        if width != self._width:  # resized: laid out again once the Resize event comes
            strip = strip.crop_extend(0, width, self.rich_style)
        return strip

    def _line(self, line: int) -> Strip:
        """Line ``line`` of the content, at the layout's width."""
        blank = self._blank(self._width)
        layout = self._stack
        if line < layout.header:
            if line == layout.header - 1:
                return self._earlier_line()
            return blank
        found = layout.find(line)
        if found is None:
            return blank
        k, offset = found
        index = self._start + k
        lines = self._entry_lines(self.entries[index], index)
        return lines[offset] if offset < len(lines) else blank

    def _blank(self, width: int) -> Strip:
        """A line of the transcript's own background (between entries)."""
        key = ("blank", width)
        lines = self._lines.get(key)
        if lines is None:
            lines = self._lines[key] = [Strip.blank(width, self.rich_style)]
        return lines[0]

    def _earlier_line(self) -> Strip:
        look = self._look(None, self._state(_EARLIER))
        text = Content(f"▲ {self._start:,} earlier items: show more")
        return self._box(look, text, align="center")[0]

    # -- pointer ----------------------------------------------------------------------

    def _entry_at(self, event: events.MouseEvent) -> int | None:
        """The index of the entry under the pointer, ``_EARLIER`` for the "earlier
        items" line, ``None`` for nothing."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None
        line = offset.y + round(self.scroll_y)
        if self._stack.header and line == self._stack.header - 1:
            return _EARLIER
        found = self._stack.find(line)
        return None if found is None else self._start + found[0]

    def on_mouse_move(self, event: events.MouseMove) -> None:
        at = self._entry_at(event)
        if at is not None and at != _EARLIER and self.entries[at].kind != "tool":
            at = None  # only tool calls (and "show more") react to the pointer
        self._set_hover(at)

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover(None)

    def _set_hover(self, index: int | None) -> None:
        if index != self._hover:
            old, self._hover = self._hover, index
            self._refresh_entry(old)
            self._refresh_entry(index)

    def on_click(self, event: events.Click) -> None:
        at = self._entry_at(event)
        if at == _EARLIER:
            event.stop()
            self.show_earlier()
        elif at is not None:
            event.stop()
            self._set_cursor(at, scroll=False)
            self._activate(at)

    # -- keyboard ---------------------------------------------------------------------

    def _refresh_entry(self, index: int | None) -> None:
        if index == _EARLIER:
            if self._stack.header:
                self.refresh_lines(self._stack.header - 1)
            return
        if index is None or not self._start <= index < self._laid:
            return
        k = index - self._start
        self.refresh_lines(self._stack.tops[k], self._stack.heights[k])

    def _set_cursor(self, index: int | None, scroll: bool = True, earlier: bool = False) -> None:
        old = self.cursor
        self.cursor = index
        if earlier != self._cursor_earlier:
            self._cursor_earlier = earlier
            self._refresh_entry(_EARLIER)
        self._refresh_entry(old)
        self._refresh_entry(index)
        if not scroll:
            return
        if earlier:
            self.scroll_to(y=0, animate=False, immediate=True)
        elif index is not None:
            self.scroll_to_entry(self.entries[index])

    def entry_region(self, entry: Entry) -> Region | None:
        """Where ``entry``'s lines are in the content (``virtual_size`` coordinates,
        its blank line before it excluded); ``None`` if it is not laid out (behind
        "show more")."""
        index = self.entries.index(entry)
        if not self._start <= index < self._laid:
            return None
        k = index - self._start
        return Region(0, self._stack.tops[k], self._width, self._stack.heights[k])

    def scroll_to_entry(self, entry: Entry, top: bool = False) -> None:
        """Scroll (at once) so that ``entry`` shows, at the top of the view with
        ``top``; an entry not laid out is not scrolled to."""
        region = self.entry_region(entry)
        if region is not None:
            self.scroll_to_region(region, animate=False, top=top, immediate=True)

    def on_focus(self) -> None:
        if self.cursor is None or not self._start <= self.cursor < self._laid:
            self._set_cursor(self._laid - 1 if self._laid > self._start else None, scroll=False)
        else:
            self._refresh_entry(self.cursor)

    def on_blur(self) -> None:
        self._refresh_entry(self.cursor)
        self._refresh_entry(_EARLIER)

    def action_cursor(self, step: int) -> None:
        first, last = self._start, self._laid - 1
        if last < first:
            return
        if self._cursor_earlier:
            if step < 0:
                self._show_earlier_from_cursor()
            else:
                self._set_cursor(first)
            return
        if self.cursor is None or not first <= self.cursor <= last:
            self._set_cursor(last)
            return
        index = self.cursor + step
        if index < first:
            if self._start > 0:
                self._set_cursor(None, earlier=True)
            return
        self._set_cursor(min(index, last))
        if self.cursor == last:
            self._scroll_to_end()  # and follow again

    def _show_earlier_from_cursor(self) -> None:
        first = self._start
        self.show_earlier()
        self._set_cursor(first - 1 if first > self._start else first)

    def action_cursor_home(self) -> None:
        if self._start > 0:
            self._start = 0
            self._relayout(following=False, keep_view=True)
        if self._laid > 0:
            self._set_cursor(0)

    def action_cursor_end(self) -> None:
        if self._laid > self._start:
            self._set_cursor(self._laid - 1)
            self._scroll_to_end()

    def action_activate(self) -> None:
        if self._cursor_earlier:
            self._show_earlier_from_cursor()
        elif self.cursor is not None and self.cursor < len(self.entries):
            self._activate(self.cursor)

    def _activate(self, index: int) -> None:
        entry = self.entries[index]
        block = entry.block
        if block is None:
            return
        if block.kind == "tool":
            self.post_message(self.ToolSelected(block.call_id))
        elif block.kind == "error":
            entry.expanded = not entry.expanded
            entry.version += 1
            self._changed.add(entry.uid)
            self.flush()


def _fade(strip: Strip, base: Color, opacity: float) -> Strip:
    """``strip`` seen at ``opacity`` over ``base``: every colour blended towards it."""
    segments = []
    for text, style, control in strip:
        if style is not None and not control:
            fg = bg = None
            if style.bgcolor is not None:
                bg = base.blend(Color.from_rich_color(style.bgcolor), opacity).rich_color
            if style.color is not None:
                fg = base.blend(Color.from_rich_color(style.color), opacity).rich_color
            style = style + RichStyle.from_color(fg, bg)
        segments.append(Segment(text, style, control))
    return Strip(segments, strip.cell_length)
