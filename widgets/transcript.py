"""The transcript: the session's visible items in order, with a bounded number of
mounted rows.

The transcript keeps every entry (item + row class) in a list, but mounts only the
newest :attr:`Transcript.window` rows; older ones come back page by page with the
"earlier items" button at the top. Rows are mounted in batches by :meth:`flush`, so a
session of thousands of items shows at once. The view follows the bottom while the
user is there (Textual's anchor) and is left alone while they scroll back.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.await_remove import AwaitRemove
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Button

from parley.app.protocol import items as it
from parley.widgets.rows import NoticeRow, Row


@dataclass
class Entry:
    """One transcript line: the item (replaced in place for a tool call's updates)
    and the row class that shows it; ``row`` is set while it is mounted."""

    item: it.ChatItem
    cls: type[Row]
    row: Row | None = None


class Transcript(VerticalScroll, can_focus=False):
    """See the module docstring. Call :meth:`add` / :meth:`update_tool` for each item,
    then ``await flush()`` once per batch."""

    window = 120
    page = 100

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.entries: list[Entry] = []
        self._tools: dict[str, Entry] = {}
        self._start = 0  # index of the first mounted entry
        self._mounted_upto = 0  # entries before this index have been mounted
        self._earlier = Button("", id="earlier", compact=True)

    def on_mount(self) -> None:
        self.anchor()

    # -- the model ------------------------------------------------------------------

    def add(self, item: it.ChatItem, cls: type[Row]) -> None:
        entry = Entry(item, cls)
        self.entries.append(entry)
        if isinstance(item, it.ToolCall):
            self._tools[item.call_id] = entry

    def update_tool(self, call: it.ToolCall, cls: type[Row]) -> None:
        """Show ``call`` in its row (by ``call_id``), or add it if it is new."""
        entry = self._tools.get(call.call_id)
        if entry is None:
            self.add(call, cls)
            return
        entry.item = call
        if entry.row is not None:
            entry.row.item = call

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
        rows = [self._make_row(e) for e in new]
        self._mounted_upto = len(self.entries)
        # unmount and mount in one go: one layout pass, not two
        removing = self._trim() if self._following() else None
        mounting = self.mount_all(rows)
        if removing is not None:
            await removing
        await mounting
        self._update_earlier()

    def _following(self) -> bool:
        return self.is_anchored and not self._anchor_released

    def _trim(self) -> AwaitRemove | None:
        """Unmount the oldest rows beyond the window (counting those being mounted)."""
        extra = (self._mounted_upto - self._start) - self.window
        if extra <= 0:
            return None
        entries = self.entries[self._start : self._start + extra]
        self._start += extra
        return self._unmount(entries)

    def _make_row(self, entry: Entry) -> Row:
        entry.row = entry.cls(entry.item)
        return entry.row

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

    async def clear(self) -> None:
        """Forget every entry and unmount every row (the session keeps its items)."""
        self.entries.clear()
        self._tools.clear()
        self._start = self._mounted_upto = 0
        children: list[Widget] = list(self.children)
        await self.remove_children(children)
        self.anchor()
