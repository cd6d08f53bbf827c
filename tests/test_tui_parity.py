"""Parity between the headless text and the chat UI is a property of the fold: both
show the view's blocks (:mod:`parley.app.view`), and only style them.

For one recorded stream: the UI's transcript rows are the view's blocks, in the
view's order, each row holding exactly the block the view made; and both the text
that `parley say` / `history` print and the UI rows show each block's glyph, title,
result and text verbatim (no glyph is stripped before comparing). Where they place a
block differs by design: the text prints a tool call's result when it ends (a stream
of text cannot go back), the UI updates its row where it started.
"""

from __future__ import annotations

from test_tui_support import RECORDING, SIZE, recorded_app, wait_until

from parley.app.protocol import items as it
from parley.app.session.eventlog import read_log
from parley.app.view import Block, View
from parley.headless.render import TextRenderer


def in_text(block: Block) -> list[str]:
    """The lines of ``block`` the text form prints, verbatim."""
    lines = [ln.strip() for ln in block.body.splitlines() if ln.strip()]
    match block.kind:
        case "user":
            return ["● You", *lines]
        case "agent":
            return ["● Agent", *lines]
        case "tool":
            result = [f"{block.glyph} {block.result}"] if block.result else []
            progress = [f"… {p}" for p in block.progress]
            return [f"● function_tool: {block.title}", *progress, *result]
        case "handoff" | "ended":
            return [f"● {block.title}", *lines]
        case "error" | "turn_end":
            return [f"{block.glyph} {block.title.splitlines()[0]}"]
    return [block.title]


def in_row(block: Block) -> list[str]:
    """What the UI row of ``block`` shows, verbatim (an error row opened)."""
    match block.kind:
        case "user" | "agent":
            return [block.body.strip()]
        case "tool":
            return [f"{block.glyph} {block.title}", block.args, block.result]
        case "handoff" | "turn_end":
            return [f"{block.glyph} {block.title}"]
        case "error":
            return [block.glyph, *(m.strip() for m in block.messages)]
    return [block.glyph, block.title]


async def test_text_and_ui_show_the_same_blocks() -> None:
    items = read_log(RECORDING).items
    view = View()
    for item in items:
        view.feed(item)
    renderer = TextRenderer(color=False)
    text = "".join(renderer.render(item) for item in items)
    text_lines = {ln.strip() for ln in text.splitlines()}
    # the text shows every block
    for block in view.blocks.values():
        for line in in_text(block):
            assert line in text_lines, f"{block.key}: {line!r} not in the text"
    app = recorded_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.loaded.is_set() and app.items_seen == len(items))
        rows = app.transcript.shown
        for row in rows:
            if row.kind == "error":
                row.expanded = True
        # the UI shows every block, in the view's order, as the view made it
        assert [r.block for r in rows] == list(view.blocks.values())
        for row in rows:
            assert row.block is not None
            for part in in_row(row.block):
                assert part in row.plain, f"{row.block.key}: {part!r} not in {row.plain!r}"
    # and the recording has every kind worth comparing
    kinds = {b.kind for b in view.blocks.values()}
    assert {"user", "agent", "tool", "handoff", "error", "turn_end"} <= kinds
    assert any(isinstance(i, it.TurnFinished) and i.status == "cancelled" for i in items)
    assert any(b.late for b in view.blocks.values())  # a late item of the cancelled turn
