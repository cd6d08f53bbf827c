"""The tool calls pane's list (:class:`parley.widgets.tools_pane.ToolList`): keys,
pointer, following new calls, lines cut to the width, untrusted text as data."""

from __future__ import annotations

from typing import Any

from test_tui_support import SIZE, shown, wait_until
from textual.strip import Strip

from parley.app.backend import ItemsBackend
from parley.app.protocol import items as it
from parley.widgets.app import ParleyApp, make_app
from parley.widgets.tools_pane import ToolList


def call(n: int, **kw: Any) -> it.ToolCall:
    fields: dict[str, Any] = {"seq": n, "ts": float(n), "call_id": f"c{n}", "name": "lookup",
                              "arguments": f'{{"n": {n}}}', "status": "done",
                              "output": f"result {n}", "duration_ms": 2.0}  # fmt: skip
    fields.update(kw)
    return it.ToolCall(**fields)


def calls(n: int) -> list[it.ChatItem]:
    return [call(k) for k in range(1, n + 1)]


async def started(pilot: Any, n: int) -> tuple[ParleyApp, ToolList]:
    app: ParleyApp = pilot.app
    await wait_until(pilot, lambda: app.loaded.is_set())
    tool_list = app.query_one("#tool-list", ToolList)
    await wait_until(pilot, lambda: len(tool_list) == n)
    await pilot.pause()
    return app, tool_list


def backgrounds(strip: Strip) -> set[object]:
    return {s.style.bgcolor if s.style else None for s in strip}


def line(tool_list: ToolList, index: int) -> str:
    """The text drawn for the call at ``index`` (which must be in view)."""
    return tool_list.render_line(index - round(tool_list.scroll_y)).text


async def test_keys_move_the_highlight_and_show_the_call() -> None:
    app = make_app(ItemsBackend(calls(60)), frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        app, tool_list = await started(pilot, 60)
        view = tool_list.scrollable_content_region.height
        assert 0 < view < 60
        tool_list.focus()
        await pilot.pause()
        assert tool_list.highlighted == 59 and app.tools.selected == "c60"  # the newest
        await pilot.press("up", "up")
        assert tool_list.highlighted == 57
        await wait_until(pilot, lambda: app.tools.selected == "c58")
        assert "result 58" in shown(app.tools, "#tool-detail").plain
        await pilot.press("home")
        assert tool_list.highlighted == 0 and tool_list.scroll_y == 0
        await pilot.press("up")  # stays at the first
        assert tool_list.highlighted == 0
        await pilot.press("pagedown")
        assert tool_list.highlighted == view
        assert tool_list.scroll_y <= view < tool_list.scroll_y + view  # scrolled into view
        await pilot.press("pageup", "down")
        assert tool_list.highlighted == 1
        await pilot.press("end")
        assert tool_list.highlighted == 59 and tool_list.scroll_y == tool_list.max_scroll_y
        await pilot.press("down")  # stays at the last
        assert tool_list.highlighted == 59
        await wait_until(pilot, lambda: app.tools.selected == "c60")
        assert "result 60" in shown(app.tools, "#tool-detail").plain


async def test_click_selects_and_hover_highlights_the_call_under_the_pointer() -> None:
    app = make_app(ItemsBackend(calls(5)), frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        app, tool_list = await started(pilot, 5)
        left = tool_list.content_region.x - tool_list.region.x  # inside the padding
        await pilot.hover("#tool-list", offset=(left + 2, 3))
        await pilot.pause()
        hovered = tool_list.render_line(3)
        plain = tool_list.render_line(1)
        assert hovered.text.strip().endswith("lookup n=4")
        assert backgrounds(hovered) != backgrounds(plain)
        assert await pilot.click("#tool-list", offset=(left + 2, 2))
        assert tool_list.highlighted == 2
        await wait_until(pilot, lambda: app.tools.selected == "c3")
        assert "result 3" in shown(app.tools, "#tool-detail").plain
        await pilot.hover("#tool-detail")
        await pilot.pause()
        left_alone = tool_list.render_line(3)  # the pointer left: no hover colour
        assert backgrounds(left_alone) == backgrounds(plain)


async def test_the_list_follows_new_calls_at_the_bottom_only() -> None:
    backend = ItemsBackend(calls(60))
    app = make_app(backend, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        app, tool_list = await started(pilot, 60)
        assert tool_list.scroll_y == tool_list.max_scroll_y > 0
        backend.push(call(61))
        await wait_until(pilot, lambda: len(tool_list) == 61)
        await pilot.pause()
        assert tool_list.scroll_y == tool_list.max_scroll_y  # followed
        assert line(tool_list, 60).rstrip().endswith("lookup n=61")
        tool_list.scroll_to(y=10, animate=False, immediate=True)
        backend.push(call(62))
        await wait_until(pilot, lambda: len(tool_list) == 62)
        await pilot.pause()
        assert tool_list.scroll_y == 10 < tool_list.max_scroll_y  # left alone
        tool_list.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        backend.push(call(63))
        await wait_until(pilot, lambda: len(tool_list) == 63)
        await pilot.pause()
        assert tool_list.scroll_y == tool_list.max_scroll_y  # follows again
        assert line(tool_list, 62).rstrip().endswith("lookup n=63")


async def test_a_long_call_is_cut_with_an_ellipsis_and_updates_in_place() -> None:
    long_args = '{"query": "' + "x" * 300 + '"}'
    backend = ItemsBackend([call(1, arguments=long_args, status="running", output="",
                                 duration_ms=None)])  # fmt: skip
    app = make_app(backend, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        app, tool_list = await started(pilot, 1)
        width = tool_list.scrollable_content_region.width
        strip = tool_list.render_line(0)
        assert strip.cell_length == width
        assert strip.text.rstrip().endswith("…") and "lookup" in strip.text
        assert strip.text.startswith("⋯" + " " * 10 + "lookup")  # running: no duration yet
        backend.push(call(1, arguments=long_args, duration_ms=1500.0))
        await wait_until(pilot, lambda: app.tools.calls["c1"].status == "done")
        await pilot.pause()
        assert "1.5 s" in tool_list.render_line(0).text and len(tool_list) == 1


async def test_untrusted_call_text_is_drawn_as_data() -> None:
    nasty = "[bold red]x[/] [@click=app.quit]q[/] \x1b[31mred\x07"
    backend = ItemsBackend([call(1, name="t[/]", arguments='{"a": "' + "[b]" + '"}',
                                 output=nasty, is_error=True, status="error")])  # fmt: skip
    app = make_app(backend, frozen=True)
    async with app.run_test(size=SIZE) as pilot:
        app, tool_list = await started(pilot, 1)
        text = tool_list.render_line(0).text
        assert "t[/]" in text and "[b]" in text
        assert "\x1b" not in text and "\x07" not in text
        await pilot.click("#tool-list", offset=(2, 0))
        await wait_until(pilot, lambda: app.tools.selected == "c1")
        detail = shown(app.tools, "#tool-detail").plain
        assert "[bold red]x[/] [@click=app.quit]q[/]" in detail
        assert "\x1b" not in detail and "\x07" not in detail
        assert app.is_running
