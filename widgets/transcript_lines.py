"""The transcript's entries and how an entry's lines are drawn and cached.

An :class:`Entry` is one thing :class:`~parley.widgets.transcript.Transcript` shows:
an :class:`ItemEntry` (a :class:`~parley.app.view.Block` of the view, replaced in
place as it changes) or a :class:`Notice` (a line from parley itself). Its text
comes from :mod:`parley.widgets.rows`.

:class:`EntryLines` turns an entry into the lines (:class:`~textual.strip.Strip`) the
widget returns from ``render_line``: the text wrapped to a width, with the coloured
bar, top rule, padding, background, text style and opacity of the ``transcript--*``
component classes (:data:`TRANSCRIPT_CLASSES`, styled in ``parley.tcss`` with theme
variables, so every theme works). Lines are cached per entry version, width and
highlight state (cursor, hover, focus) in a bounded LRU cache, so an entry is
rendered once however often it is drawn. Which entries are shown, where, and the
cursor are the widget's.
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import count
from typing import TYPE_CHECKING, NamedTuple

from rich.segment import Segment
from rich.style import Style as RichStyle
from textual.color import Color
from textual.content import Content
from textual.strip import Strip
from textual.style import Style
from textual.visual import Visual

from parley.app.protocol import items as it
from parley.app.view import Block
from parley.widgets.rows import block_content, block_plain, notice_content

if TYPE_CHECKING:
    from textual.widget import Widget

_uids = count()

#: the component classes entries are drawn with (the widget's ``COMPONENT_CLASSES``)
TRANSCRIPT_CLASSES = frozenset(
    {
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
)

#: the bar drawn for a ``border-left`` type of a component class (others: ``wide``'s)
_BARS = {"wide": "▎", "outer": "▌", "inner": "▐", "tall": "▊", "thick": "█", "heavy": "┃",
         "solid": "│", "round": "│", "double": "║", "ascii": "|", "vkey": "▏"}  # fmt: skip
#: the rule drawn for a ``border-top`` type (others: ``heavy``'s)
_RULES = {"heavy": "━", "solid": "─", "round": "─", "double": "═", "thick": "█", "tall": "▔",
          "outer": "▀", "wide": "▔", "ascii": "-", "hkey": "▔"}  # fmt: skip
_NO_BORDER = ("", "none", "hidden", "blank")


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
    its variants in ``classes`` (``queued``, ``error``, ``end-of-recording`` are
    styled; others, such as ``starting``, only mark it)."""

    def __init__(self, text: str, classes: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.text = text
        self.classes = classes

    def content(self) -> Content:
        return notice_content(self.text)


def classes_of(entry: Entry) -> tuple[str, ...]:
    """The component classes ``entry`` is drawn with (``transcript--…``, see
    ``parley.tcss``), without the cursor and hover ones; only names in
    :data:`TRANSCRIPT_CLASSES`."""
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
    return tuple(n for n in names if n in TRANSCRIPT_CLASSES)


class Look(NamedTuple):
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


class EntryLines:
    """The lines of entries as ``widget`` draws them (its ``transcript--*`` component
    styles), cached: at most ``size`` entries' lines (per version, width and state)
    and ``size`` entries' contents, least recently used dropped first.

    ``state`` is the highlight classes over an entry (``transcript--cursor``,
    ``transcript--hover``); ``focus`` says the widget has focus (the cursor's look
    under ``:focus``), and only counts with a state.
    """

    def __init__(self, widget: Widget, size: int) -> None:
        self.widget = widget
        self.size = size
        self._lines: OrderedDict[tuple[object, ...], list[Strip]] = OrderedDict()
        self._contents: OrderedDict[tuple[int, int], Content] = OrderedDict()
        self._looks: dict[tuple[str, ...], Look] = {}

    def clear(self) -> None:
        """Forget every entry's lines and content (the entries are gone)."""
        self._lines.clear()
        self._contents.clear()

    def restyle(self) -> None:
        """The widget's styles changed (a theme, a pseudo-class): draw again."""
        self._looks.clear()
        self._lines.clear()

    def look(self, entry: Entry | None, state: tuple[str, ...] = (), focus: bool = False) -> Look:
        """How ``entry`` (``None``: the "earlier items" line) is drawn in ``state``."""
        names = (classes_of(entry) if entry is not None else ("transcript--earlier",)) + state
        key = (*names, "focus") if state and focus else names
        look = self._looks.get(key)
        if look is None:
            look = self._looks[key] = self._make_look(names)
        return look

    def _make_look(self, names: tuple[str, ...]) -> Look:
        widget = self.widget
        styles = widget.get_component_styles(*names)
        style = widget.get_visual_style(*names)
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
        return Look(
            style=style,
            row=row,
            bar=bar,
            rule=rule,
            padding=(top, right, bottom, left),
            gap=styles.margin.top,
            nowrap=styles.text_wrap == "nowrap",
            ellipsis=styles.text_overflow == "ellipsis",
            opacity=styles.opacity,
            base=widget.get_visual_style().background or Color(0, 0, 0, 0),
        )

    def _content(self, entry: Entry) -> Content:
        key = (entry.uid, entry.version)
        content = self._contents.get(key)
        if content is None:
            content = self._contents[key] = entry.content()
            if len(self._contents) > self.size:
                self._contents.popitem(last=False)
        else:
            self._contents.move_to_end(key)
        return content

    def lines(
        self, entry: Entry, width: int, state: tuple[str, ...] = (), focus: bool = False
    ) -> list[Strip]:
        """The lines of ``entry`` at ``width`` cells in ``state``: its top rule, then
        its padding and text, each line ``width`` cells (its gap not included)."""
        focus = bool(state) and focus
        key = (entry.uid, entry.version, entry.expanded, width, state, focus)
        lines = self._lines.get(key)
        if lines is not None:
            self._lines.move_to_end(key)
            return lines
        look = self.look(entry, state, focus)
        content = self._content(entry)
        if look.nowrap:
            content = content.split("\n")[0]
        lines = self.box(look, content, width)
        self._lines[key] = lines
        if len(self._lines) > self.size:
            self._lines.popitem(last=False)
        return lines

    def box(self, look: Look, content: Content, width: int, align: str = "left") -> list[Strip]:
        """``content`` in an entry's box ``width`` cells wide: bar, padding,
        background, top rule (``align``: ``left`` or ``center``). Not cached."""
        top, right, bottom, left = look.padding
        bar = [Segment(*look.bar)] if look.bar else []
        inner = max(1, width - len(bar) - left - right)
        if look.nowrap:
            content = content.truncate(inner, ellipsis=look.ellipsis)
        if align == "center":
            content = content.center(inner)
        body = Visual.to_strips(self.widget, content, inner, None, look.style)
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

    def blank(self, width: int) -> Strip:
        """A line of the widget's own background (between entries), ``width`` cells."""
        key = ("blank", width)
        lines = self._lines.get(key)
        if lines is None:
            lines = self._lines[key] = [Strip.blank(width, self.widget.rich_style)]
        return lines[0]


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
