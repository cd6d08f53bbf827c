"""What a terminal shows is what the app would draw from scratch.

The app repaints only what changed (Textual's partial updates, and parley's own:
the transcript refreshes only the lines of the entries that changed, or all its lines
when it scrolls; the tool list keeps its lines when new calls land below its view,
the tools pane repaints only the count in its border; see
:mod:`parley.widgets.transcript`, :mod:`parley.widgets.tools_pane`). Snapshot tests
render whole screens, so they cannot see a region that was left unpainted. Here
every update the app sends is
applied to a model of the terminal, cell by cell, as the terminal applies it, and
after each frame the model must equal a render of the whole screen with every
widget's line cache emptied (what the app would draw from nothing), once the app has
drawn the frames that follow a change.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import pytest
from rich.cells import cell_len
from rich.style import Style
from test_tui_support import SIZE, wait_until
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.strip import Strip

from parley.app.backend import ItemsBackend
from parley.app.protocol import items as it
from parley.widgets.app import make_app
from parley.widgets.tools_pane import ToolList
from parley.widgets.transcript import Transcript

# The updates read here (``LayoutUpdate.strips``, ``ChopsUpdate.chops``) are Textual 8's
# shapes; older versions (the floor is 6.2.0) send other ones.
needs_textual_8 = pytest.mark.skipif(
    int(version("textual").split(".")[0]) < 8,
    reason="reads Textual 8's compositor updates",
)

Cell = tuple[str, Style | None]


def cells(strip: Strip) -> list[Cell]:
    out: list[Cell] = []
    for segment in strip:
        if segment.control:
            continue
        for char in segment.text:
            out.append((char, segment.style))
            out.extend([("", segment.style)] * (cell_len(char) - 1))
    return out


class Terminal:
    """A terminal's screen, changed by the updates the app sends."""

    def __init__(self, width: int, height: int) -> None:
        self.lines: list[list[Cell | None]] = [[None] * width for _ in range(height)]

    def write(self, x: int, y: int, strip: Strip, x1: int = 0, x2: int | None = None) -> int:
        """Write ``strip`` at (x, y), only the cells in [x1, x2); the column after it."""
        line = self.lines[y]
        for cell in cells(strip):
            if x1 <= x < (len(line) if x2 is None else x2):
                line[x] = cell
            x += 1
        return x

    def apply(self, update: Any) -> None:
        if isinstance(update, LayoutUpdate):
            for y, strips in enumerate(update.strips, update.region.y):
                x = update.region.x
                for strip in strips:
                    x = self.write(x, y, strip)
        elif isinstance(update, ChopsUpdate):
            for y, x1, x2 in update.spans:
                ends = update.chop_ends[y]
                for end, (x, chop) in zip(ends, update.chops[y].items(), strict=False):
                    if chop is None or x > x2 or end <= x1:
                        continue
                    self.write(x, y, chop, x1, x2)
        else:
            raise AssertionError(f"unexpected update {update!r}")


def fresh_render(app: Any) -> list[list[Cell]]:
    """The whole screen drawn from nothing: every visible widget's line cache is
    emptied for this render, then put back (the app goes on with its caches)."""
    compositor = app.screen._compositor
    saved = []
    for widget in compositor.visible_widgets:
        cache = widget._styles_cache
        saved.append((cache, dict(cache._cache), set(cache._dirty_lines)))
        cache._cache.clear()
    try:
        return [cells(strip) for strip in compositor.render_strips()]
    finally:
        for cache, lines, dirty in saved:
            cache._cache.clear()
            cache._cache.update(lines)
            cache._dirty_lines.clear()
            cache._dirty_lines.update(dirty)


def text(line: list[Any]) -> str:
    return "".join(cell[0] if cell else "?" for cell in line)


def session(n: int) -> list[it.ChatItem]:
    """``n`` items: agent messages and tool calls in turn (the tool list overflows)."""
    out: list[it.ChatItem] = []
    for seq in range(1, n + 1):
        if seq % 2:
            out.append(it.AgentMessage(seq=seq, ts=float(seq), agent_id="concierge",
                                       text=f"Reply {seq}: the **weather** is fine."))  # fmt: skip
        else:
            out.append(it.ToolCall(seq=seq, ts=float(seq), call_id=f"c{seq}", name="lookup",
                                   arguments=f'{{"n": {seq}}}', status="done",
                                   output=f"result {seq}", duration_ms=2.0))  # fmt: skip
    return out


@needs_textual_8
@pytest.mark.parametrize("n_items", [4, 160])
async def test_each_frame_paints_what_a_full_render_shows(
    n_items: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """160: more entries than the transcript's window (made 60 here, moving every 5
    new entries), more calls than the tool list shows; 4: new calls land in the
    list's view."""
    monkeypatch.setattr(Transcript, "window", 60)
    monkeypatch.setattr(Transcript, "slack", 5)
    items = session(n_items)
    backend = ItemsBackend(items)
    app = make_app(backend, frozen=True)
    width, height = SIZE
    terminal = Terminal(width, height)
    frames: list[int] = []
    mismatches: list[str] = []
    display = app._display

    def painting(screen: Any, update: Any) -> None:
        display(screen, update)
        if update is not None and screen is app.screen:
            terminal.apply(update)
            frames.append(1)

    async def settled(pilot: Any, what: str) -> None:
        """Once the frames after a change are drawn, the terminal shows what a full
        render does (a frame may lag a style change by one frame; a region left
        unpainted stays wrong)."""
        await pilot.pause(0.1)
        expected = fresh_render(app)
        for y, (got, want) in enumerate(zip(terminal.lines, expected, strict=True)):
            if got != want:
                x = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
                mismatches.append(f"after {what}, line {y} column {x}: {got[x]!r} != "
                                  f"{want[x]!r}\n  terminal {text(got)!r}\n  full     "
                                  f"{text(want)!r}")  # fmt: skip

    app._display = painting  # type: ignore[method-assign,assignment]
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.loaded.is_set())
        await settled(pilot, "loading")
        # the tool list scrolled back: new calls land below its view (160) or in it (4)
        tool_list = app.query_one("#tool-list", ToolList)
        tool_list.scroll_home(animate=False, immediate=True)
        await settled(pilot, "scrolling the tool list back")
        seq = items[-1].seq
        for n in range(24):
            seq += 1
            item: it.ChatItem
            if n % 3 == 0:
                item = it.AgentMessage(seq=seq, ts=float(seq), agent_id="concierge",
                                       text=f"New reply {n}\n\n- one\n- two")  # fmt: skip
            else:
                item = it.ToolCall(seq=seq, ts=float(seq), call_id=f"new{n}", name="lookup",
                                   arguments="{}", status="done", output="ok",
                                   duration_ms=1.0)  # fmt: skip
            before = len(frames)
            backend.push(item)

            def on_screen(item: it.ChatItem = item, before: int = before) -> bool:
                shown = app.transcript.shown
                return len(frames) > before and any(e.item is item for e in shown)

            await wait_until(pilot, on_screen)
            await settled(pilot, f"new item {n}")
        # the tool list scrolled to its end shows the calls added below its view
        scrolls = tool_list.scroll_y != tool_list.max_scroll_y
        assert scrolls == (n_items == 160)  # 4: it followed the new calls to its end
        before = len(frames)
        tool_list.scroll_end(animate=False, immediate=True)
        await wait_until(pilot, lambda: len(frames) > before or not scrolls)
        await settled(pilot, "scrolling the tool list")
        assert "lookup" in text(terminal.lines[tool_list.region.bottom - 1])
    assert frames
    assert not mismatches, "\n".join(mismatches[:5])


@pytest.mark.parametrize("n_items", [6, 160])
async def test_tool_list_height_is_its_calls_up_to_its_max_height(n_items: int) -> None:
    """The tool list is one line per call, as tall as its calls up to its max-height
    (``parley.tcss``); beyond it, it scrolls."""
    app = make_app(ItemsBackend(session(n_items)), frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.loaded.is_set())
        await pilot.pause()
        tool_list = app.query_one("#tool-list", ToolList)
        container = tool_list.parent.content_region.size  # type: ignore[union-attr]
        viewport = app.screen.size
        full = tool_list.virtual_size.height
        assert full == len(tool_list) == n_items // 2  # one line per call
        max_height = tool_list.styles.max_height
        assert max_height is not None
        cap = int(max_height.resolve(container, viewport))
        assert tool_list.outer_size.height == min(full, cap)
        assert (full < cap) == (n_items == 6)
        assert tool_list.show_vertical_scrollbar == (full > cap)


async def test_a_call_added_below_the_tool_lists_view_repaints_none_of_its_lines() -> None:
    """Scrolled back, a new call below the view draws no line of the list (only its
    scrollbar moves): a long session's list is full, and repainting it cost every
    frame that shows a new call. In view (at the bottom, following), it does."""
    backend = ItemsBackend(session(160))
    app = make_app(backend, frozen=True)
    drawn: list[int] = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.loaded.is_set())
        tool_list = app.query_one("#tool-list", ToolList)
        render_line = tool_list.render_line

        def counting(y: int) -> Any:
            drawn.append(y)
            return render_line(y)

        tool_list.render_line = counting  # type: ignore[method-assign]
        tool_list.scroll_home(animate=False, immediate=True)
        await pilot.pause(0.1)
        virtual = tool_list.virtual_size.height
        drawn.clear()
        for n in range(2):
            backend.push(it.ToolCall(seq=1000 + n, ts=1000.0 + n, call_id=f"below{n}",
                                     name="lookup", arguments="{}", status="done",
                                     output="ok", duration_ms=1.0))  # fmt: skip
            count = virtual + n + 1
            await wait_until(pilot, lambda: len(tool_list) == count)  # noqa: B023
            await pilot.pause(0.1)
        assert tool_list.virtual_size.height == virtual + 2
        assert tool_list.scroll_y == 0 and drawn == []
        assert tool_list.vertical_scrollbar.window_virtual_size == virtual + 2  # it moved
        tool_list.scroll_end(animate=False, immediate=True)
        await pilot.pause(0.1)
        drawn.clear()
        backend.push(it.ToolCall(seq=1010, ts=1010.0, call_id="followed", name="lookup",
                                 arguments="{}", status="done", output="ok",
                                 duration_ms=1.0))  # fmt: skip
        await wait_until(pilot, lambda: "followed" in tool_list.ids and bool(drawn))
        await pilot.pause(0.1)
        assert tool_list.scroll_y == tool_list.max_scroll_y > 0  # followed the new call
        assert drawn
