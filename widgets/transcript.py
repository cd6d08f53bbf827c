"""The transcript: the session's visible items in order, with a bounded number of
mounted rows.

The transcript keeps every entry (item + row class) in a list, but shows only the
newest :attr:`Transcript.window` rows. A row leaving the window is hidden in the
layout pass that shows the new one, and kept to show a later item of its kind (a
few per kind; the rest are unmounted when the session goes quiet). Older rows come
back page by page with the "earlier items" button at the top. Rows are mounted in
batches by :meth:`flush`, so a session of thousands of items shows at once. The
view follows the bottom while the user is there (Textual's anchor) and is left alone
while they scroll back.

The transcript is one focus target: Up/Down (Home/End) move a cursor between rows,
Enter activates the row under it (a tool call opens its detail, an error its raw
messages). Focusing it never scrolls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.await_remove import AwaitRemove
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Button

from parley.app.protocol import items as it
from parley.app.view import Block
from parley.widgets.repaint import LayoutOnlyRefresh
from parley.widgets.rows import NoticeRow, Row


@dataclass
class Entry:
    """One transcript line: the view's block (replaced in place as it changes: a tool
    call's progress and result, a failed turn joining its error) and the row class
    that shows it; ``row`` is set while it is mounted."""

    block: Block
    cls: type[Row]
    row: Row | None = None

    @property
    def item(self) -> it.ChatItem:
        """The newest chat item folded into the block."""
        return self.block.item


class Transcript(LayoutOnlyRefresh, VerticalScroll, can_focus=True):
    """See the module docstring. Call :meth:`show` for each update of the view, then
    ``await flush()`` once per batch."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Previous row", id="row_up", show=False),
        Binding("down", "cursor(1)", "Next row", id="row_down", show=False),
        Binding("home", "cursor_home", "First row", id="row_first", show=False),
        Binding("end", "cursor_end", "Last row", id="row_last", show=False),
        Binding("enter", "activate", "Open", id="row_open",
                tooltip="Open the row under the cursor: a tool call's detail, an error's "
                "messages."),
    ]  # fmt: skip

    window = 60
    page = 100
    #: hidden rows kept mounted per row class, to show new items in
    spares = 8
    #: other hidden rows are unmounted after this many quiet seconds
    reap_after = 0.5

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.entries: list[Entry] = []
        self._keys: dict[str, Entry] = {}  # block key -> its entry
        self._start = 0  # index of the first mounted entry
        self._mounted_upto = 0  # entries before this index have been mounted
        self._earlier = Button("", id="earlier", compact=True)
        self.cursor: int | None = None  # index into entries
        self._hidden: list[Row] = []  # rows beyond the window, hidden, not yet unmounted
        self._spare: dict[type[Row], list[Row]] = {}  # hidden rows to show new items in
        self._reap_timer: Any = None

    def on_mount(self) -> None:
        self.anchor()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        """Skip the second layout pass Textual runs when only the content height
        changed (a row appended): the compositor has placed the rows and scrolled the
        anchored view already; another pass is needed only when the vertical
        scrollbar appears or goes (the content region changes width)."""
        overflowed = self.virtual_size.height > self._size.height
        overflows = virtual_size.height > size.height
        if size == self._size and overflowed == overflows:
            layout = False
        return super()._size_updated(size, virtual_size, container_size, layout)

    # -- the model ------------------------------------------------------------------

    def show(self, block: Block, cls: type[Row]) -> Entry:
        """Show ``block`` in its row (by its key), or add a row of ``cls`` for it if it
        is new here."""
        entry = self._keys.get(block.key)
        if entry is None:
            entry = self._keys[block.key] = Entry(block, cls)
            self.entries.append(entry)
            return entry
        entry.block = block
        if entry.row is not None:
            entry.row.block = block
        return entry

    @property
    def rows(self) -> list[Row]:
        """The mounted item rows, top to bottom."""
        return [e.row for e in self.entries[self._start : self._mounted_upto] if e.row]

    # -- mounting -------------------------------------------------------------------

    async def flush(self) -> None:
        """Mount the rows added since the last flush (at most :attr:`window`), then
        unmount the oldest ones beyond the window while the view is at the bottom."""
        new = self.entries[self._mounted_upto :]
        if not new:
            return
        if len(new) >= self.window:
            removing = self._unmount(self.entries[self._start : self._mounted_upto])
            if removing is not None:
                await removing
            self._start = len(self.entries) - self.window
            new = self.entries[self._start :]
        self._mounted_upto = len(self.entries)
        if self._following():
            self._hide_beyond_window()
        # a hidden row of the same kind shows the new item: no mount, so one layout
        # pass instead of two
        rows = []
        last = self.children[-1] if self.children else None
        for e in new:
            spare = self._spare.get(e.cls)
            if spare and last is not None:
                row = spare.pop()
                row.recycle(e.block)
                self._move_row(row, after=last)
                row.display = True
                e.row = last = row
            else:
                rows.append(self._make_row(e))
        if rows:
            await self.mount_all(rows)
        self._update_earlier()
        if self._hidden:
            self._schedule_reap()

    def _move_row(self, row: Row, after: Widget) -> None:
        """``move_child(row, after=after)`` without repainting the transcript's own
        lines: Textual's ``move_child`` refreshes the container with a repaint, which
        renders every line of its background, border and padding again (~1.2 ms a
        frame at 120x40, ``bench/bench_tui.py``) although they do not change; the
        layout pass that places the moved row marks the regions that did."""
        with self.layout_only():
            self.move_child(row, after=after)

    def _following(self) -> bool:
        return self.is_anchored and not self._scrolled_back

    # Textual keeps "the user scrolled away from the anchor" private; track it with the
    # public hooks, by Textual's own rules: scrolling by the user releases the anchor,
    # reaching the bottom again (or scroll_end) restores it.
    _scrolled_back = False

    def release_anchor(self) -> None:
        super().release_anchor()
        self._scrolled_back = True

    def scroll_end(self, **kwargs: Any) -> None:
        if self.is_anchored:
            self._scrolled_back = False
        super().scroll_end(**kwargs)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._scrolled_back and new_value >= self.max_scroll_y:
            self._scrolled_back = False

    def _hide_beyond_window(self) -> None:
        """Hide the oldest rows beyond the window (counting those being mounted), in
        the layout pass that mounts the new ones; :meth:`reap` unmounts them later.
        (Unmounting at once would cost a second layout pass per new row.)"""
        extra = (self._mounted_upto - self._start) - self.window
        if extra <= 0:
            return
        for e in self.entries[self._start : self._start + extra]:
            if e.row is not None:
                e.row.display = False
                spare = self._spare.setdefault(type(e.row), [])
                if len(spare) < self.spares:
                    spare.append(e.row)
                else:
                    self._hidden.append(e.row)
                e.row = None
        self._start += extra

    def _schedule_reap(self) -> None:
        if self._reap_timer is not None:
            self._reap_timer.stop()
        self._reap_timer = self.set_timer(self.reap_after, self.reap)

    async def reap(self) -> None:
        """Unmount the hidden rows that are not spares (when new rows stop coming for
        :attr:`reap_after` seconds)."""
        if self._reap_timer is not None:
            self._reap_timer.stop()
            self._reap_timer = None
        hidden, self._hidden = self._hidden, []
        if hidden:
            await self.remove_children(hidden)

    def _make_row(self, entry: Entry) -> Row:
        row = entry.row = entry.cls(entry.block)
        return row

    def _unmount(self, entries: list[Entry]) -> AwaitRemove | None:
        rows = [e.row for e in entries if e.row is not None]
        for e in entries:
            e.row = None
        return self.remove_children(rows) if rows else None

    async def show_earlier(self) -> None:
        """Mount up to :attr:`page` more rows above the first mounted one."""
        if self._start == 0:
            return
        first = next((e.row for e in self.entries[self._start :] if e.row), None)
        start = max(0, self._start - self.page)
        rows = [self._make_row(e) for e in self.entries[start : self._start]]
        self._start = start
        if first is not None:
            await self.mount_all(rows, before=first)
        else:
            await self.mount_all(rows)
        self._update_earlier()

    def _update_earlier(self) -> None:
        if self._start == 0:
            if self._earlier.is_mounted:
                self._earlier.remove()
            return
        self._earlier.label = f"▲ {self._start:,} earlier items: show more"
        if not self._earlier.is_mounted:
            self.mount(self._earlier, before=0)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button is self._earlier:
            event.stop()
            await self.show_earlier()

    async def add_notice(self, text: str, classes: str = "") -> NoticeRow:
        """A line from parley itself, after the rows mounted so far."""
        notice = NoticeRow(text, classes=classes)
        await self.mount(notice)
        return notice

    # -- keyboard ---------------------------------------------------------------------

    def _mounted(self) -> list[int]:
        return [i for i in range(self._start, self._mounted_upto) if self.entries[i].row]

    def _set_cursor(self, index: int | None, scroll: bool = True) -> None:
        old = self.entries[self.cursor].row if self.cursor is not None and self.cursor < len(
            self.entries) else None  # fmt: skip
        if old is not None:
            old.remove_class("-cursor")
        self.cursor = index
        row = self.entries[index].row if index is not None else None
        if row is not None:
            row.add_class("-cursor")
            if scroll:
                self.scroll_to_widget(row, animate=False, immediate=True)

    def on_focus(self) -> None:
        mounted = self._mounted()
        if self.cursor is None or self.cursor not in mounted:
            self._set_cursor(mounted[-1] if mounted else None, scroll=False)

    async def action_cursor(self, step: int) -> None:
        mounted = self._mounted()
        if not mounted:
            return
        if self.cursor not in mounted:
            self._set_cursor(mounted[-1])
            return
        pos = mounted.index(self.cursor) + step
        if pos < 0 and self._start > 0:
            await self.show_earlier()
            mounted = self._mounted()
            pos = mounted.index(self.cursor) + step
        self._set_cursor(mounted[max(0, min(pos, len(mounted) - 1))])
        if self.cursor == mounted[-1]:
            self.scroll_end(animate=False, immediate=True)  # and follow again

    async def action_cursor_home(self) -> None:
        while self._start > 0:
            await self.show_earlier()
        mounted = self._mounted()
        if mounted:
            self._set_cursor(mounted[0])

    def action_cursor_end(self) -> None:
        mounted = self._mounted()
        if mounted:
            self._set_cursor(mounted[-1])
            self.scroll_end(animate=False, immediate=True)

    def action_activate(self) -> None:
        if self.cursor is not None and self.cursor < len(self.entries):
            row = self.entries[self.cursor].row
            if row is not None:
                row.activate()

    async def clear(self) -> None:
        """Forget every entry and unmount every row (the session keeps its items)."""
        self.cursor = None
        self._hidden = []
        self._spare = {}
        self.entries.clear()
        self._keys.clear()
        self._start = self._mounted_upto = 0
        children: list[Widget] = list(self.children)
        await self.remove_children(children)
        self.anchor()
