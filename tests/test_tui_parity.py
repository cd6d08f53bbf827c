"""Parity: for one recorded stream of chat items, the TUI transcript shows the same
items, in the same order, with the same text as the headless renderer (styling aside).

The headless text is rendered item by item (its concatenation is exactly what `parley
say` / `history` print) and cut into blocks. One intended difference, both derived
from the stream: the headless renderer prints a tool call when it ends (or names it
earlier, in its own block, when something else is printed while it runs), the TUI
shows its row where it started and updates it in place, so a tool call's blocks are
joined and placed by the seq of its first item on both sides before comparing. (In
the recording a cancelled turn's slow tool ends after the "turn cancelled" line.) A
second one: when a turn
fails after the agent's ``error`` event (a model failure), the TUI shows both in one
error row, readable, with the two messages as they came when the row is opened; the
rows are compared opened, so both messages must be there.
"""

from __future__ import annotations

from typing import Any

from test_tui_support import RECORDING, SIZE, recorded_app, wait_until

from parley.app.protocol import items as it
from parley.app.session.eventlog import read_log
from parley.headless.render import TextRenderer
from parley.widgets.rows import ErrorRow

GLYPHS = ("●", "✓", "✗", "⊘", "⇄", "→")


def norm(text: str) -> str:
    """Whitespace folded, glyphs and cut marks dropped: text without its styling."""
    for g in (*GLYPHS, "…"):
        text = text.replace(g, " ")
    return " ".join(text.split())


def headless_blocks(items: list[it.ChatItem]) -> list[tuple[Any, list[str]]]:
    """``(key, payload parts)`` for each item the headless renderer shows, in
    display order (tool calls at their first seq). Payload parts are the block's
    text lines that carry content (its title when it has no body)."""
    first_seq: dict[str, int] = {}
    for item in items:
        if isinstance(item, it.ToolCall):
            first_seq.setdefault(item.call_id, item.seq)
    renderer = TextRenderer(color=False)
    running: dict[str, str] = {}  # tool name -> call_id of its running call
    blocks: dict[Any, tuple[int, list[str]]] = {}
    for item in items:
        if isinstance(item, it.ToolCall):
            running[item.name] = item.call_id
        text = renderer.render(item)
        for block in text.strip("\n").split("\n\n  "):
            lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
            if not lines:
                continue
            title, body = lines[0], lines[1:]
            key: Any = ("item", item.seq)
            pos = item.seq
            if title.startswith("● function_tool: "):
                name = title.removeprefix("● function_tool: ")
                call_id = item.call_id if isinstance(item, it.ToolCall) else running[name]
                key, pos = ("tool", call_id), first_seq[call_id]
                parts = [name, *body]
            elif isinstance(item, it.ToolCall):  # result lines under its block
                key, pos = ("tool", item.call_id), first_seq[item.call_id]
                parts = lines
            elif title in ("● You", "● Agent"):
                parts = body
            else:
                parts = lines
            pos, before = blocks.get(key, (pos, []))
            blocks[key] = (pos, before + parts)
    shown = sorted(((pos, key, parts) for key, (pos, parts) in blocks.items()), key=lambda s: s[0])
    # a failed turn's error joins the row of the agent's error event for that turn
    error_of_turn = {i.turn_id: i.seq for i in items if isinstance(i, it.AgentError) and i.turn_id}
    merged: list[tuple[Any, list[str]]] = []
    for _, key, parts in shown:
        item = next((i for i in items if ("item", i.seq) == key), None)
        if isinstance(item, it.TurnFinished) and item.turn_id in error_of_turn:
            target = ("item", error_of_turn[item.turn_id])
            merged = [(k, p + parts if k == target else p) for k, p in merged]
            continue
        merged.append((key, parts))
    return merged


def tui_rows(app: Any) -> list[tuple[Any, str]]:
    out = []
    for row in app.transcript.rows:
        if isinstance(row, ErrorRow):
            row.expanded = True
        item = row.item
        key = ("tool", item.call_id) if isinstance(item, it.ToolCall) else ("item", item.seq)
        out.append((key, row.plain))
    return out


async def test_tui_transcript_matches_headless_text() -> None:
    items = read_log(RECORDING).items
    expected = headless_blocks(items)
    app = recorded_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.loaded.is_set() and app.items_seen == len(items))
        shown = tui_rows(app)
    # the same items in the same order
    assert [k for k, _ in shown] == [k for k, _ in expected]
    # with the same text
    for (key, plain), (_, parts) in zip(shown, expected, strict=True):
        for part in parts:
            assert norm(part) in norm(plain), f"{key}: {part!r} not in {plain!r}"
    # and the recording has every kind worth comparing
    kinds = {type(i).__name__ for i in items}
    assert {"ToolCall", "Handoff", "AgentError", "TurnFinished", "UserMessage"} <= kinds
    assert any(isinstance(i, it.TurnFinished) and i.status == "cancelled" for i in items)
