"""Plain-text and JSON-lines rendering of chat items for ``say``, ``history`` and
``events``.

The text form is the one LiveKit's own daemon prints::

    (blank line)
      ● You
        what's the weather in San Francisco?
    (blank line)
      ● function_tool: lookup_weather
        ✓ sunny with a temperature of 70 degrees.

A failed tool shows ``✗ <output>``; an empty successful output shows no ``✓`` line;
a long output shows its first line, capped at 120 characters with ``…``. Handoffs
are ``● handoff: <from> → <to>`` (the first agent: ``● agent: <id>``), agent errors
``✗ <message>`` (a model failure: ``✗ model error: <message> (HTTP <code>)``, once per
turn), an agent that ended the call ``● the agent ended the call`` with how to go on.
Items that say nothing to a reader (agent state, usage) render as nothing in text and
in full in JSON.

Order a reader can follow: a tool that finishes before anything else is printed is one
block, as above. A tool is named (its ``●`` line alone) as soon as something else is
printed while it runs (speech it caused, a handoff to an ``AgentTask``, the end of the
turn), so nothing a tool caused appears above it; its progress updates
(``RunContext.update``) are ``… <message>`` lines under it, and its result line follows
when it ends, under a repeated ``●`` line if other blocks came in between::

      ● function_tool: search_rooms
        … Searching rooms…

      ● Agent
        I'm searching, one moment.

      ● function_tool: search_rooms
        … Checking prices…
        ✓ Found 3 rooms from $120 a night.

Options a command turns on: ``metrics`` adds a line of latencies under each agent
message and the turn's duration at its end (``say --metrics``); ``full_output`` prints
a tool's whole output instead of its first line (``--full-output``). Without it,
:meth:`TextRenderer.cut_note` says how much of an output was left out; the CLI prints
that note on stderr, so stdout keeps LiveKit's format exactly.

What is shown, the labels, glyphs and caps come from the view
(:mod:`parley.app.view`): this module only lays its blocks out as text. Standard
library, :mod:`parley.app.view` and :mod:`parley.app.protocol` only: this is on the
``say`` hot path.
"""

from __future__ import annotations

import json
import os
from typing import IO

from parley.app.protocol import items as it
from parley.app.protocol.latency import LATENCY_KEYS
from parley.app.view import (
    GLYPHS,
    OUTPUT_CAP,
    Block,
    Update,
    View,
    cut_size,
    first_line,
    format_ms,
)

__all__ = ["OUTPUT_CAP", "TextRenderer", "cut_size", "first_line", "render_json", "use_color"]

# ANSI SGR codes per role; used only on a TTY without NO_COLOR
_STYLE = {
    "you": "1;36",
    "agent": "1;32",
    "tool": "1;33",
    "handoff": "1;35",
    "error": "1;31",
    "ok": "32",
    "dim": "2",
}

#: the role (colour) of each block kind's ``●`` line
_ROLE = {"user": "you", "agent": "agent", "handoff": "handoff", "ended": "handoff"}


def use_color(stream: IO[str]) -> bool:
    """Colour only on a TTY and never with ``NO_COLOR`` set (https://no-color.org)."""
    if "NO_COLOR" in os.environ:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _indent(text: str) -> str:
    return "\n".join(("    " + ln) if ln.strip() else "" for ln in text.splitlines() or [""])


def _seconds(value: float | None) -> str:
    return format_ms(value * 1000 if value is not None else None)


def _thousands(n: int) -> str:
    return f"{n:,}"


class TextRenderer:
    """Lays out the view's blocks (:class:`parley.app.view.View`) as the text above.

    ``metrics``: show each agent message's latencies and each turn's duration;
    ``full_output``: show tool outputs in full. Stateful: feed it one stream's items in
    ``seq`` order (one renderer per stream), as it names running tools lazily.
    ``view`` is the fold it reads (its ``turns`` say which turns are open).
    ``labels``: the exports' labels (the cast): a reply is labelled with
    :attr:`parley.app.view.Block.label` (the agent's id) instead of LiveKit's ``Agent``,
    and a block of a cancelled turn's late item carries its note
    (:attr:`parley.app.view.Block.late`) after its title.
    """

    def __init__(
        self,
        color: bool = False,
        *,
        metrics: bool = False,
        full_output: bool = False,
        labels: bool = False,
    ) -> None:
        self.color = color
        self.metrics = metrics
        self.full_output = full_output
        self.labels = labels
        self.view = View()
        self._unnamed: dict[str, Block] = {}  # running tools not printed yet
        self._named: set[str] = set()  # running tools whose ● line is printed
        self._last: str | None = None  # call_id of the tool whose lines end the output

    def _c(self, role: str, text: str) -> str:
        return f"\x1b[{_STYLE[role]}m{text}\x1b[0m" if self.color else text

    def _block(self, role: str, title: str, body: str | None = None, late: str = "") -> str:
        note = f" ({late})" if late and self.labels else ""
        out = f"\n  {self._c(role, '● ' + title)}{note}\n"
        if body is not None:
            out += _indent(body) + "\n"
        return out

    def render(self, item: it.ChatItem) -> str:
        """The text for one item ('' for items with nothing to show). Control
        characters in its text are shown escaped (the view escapes them), never sent
        to the terminal; the colours are added after."""
        update = self.view.feed(item)
        if update is not None and update.block.kind == "tool":
            return self._tool(update)
        text = self._text(update) if update is not None else ""
        if isinstance(item, it.TurnFinished):
            # a tool still running when its turn ends (parked behind an AgentTask,
            # or cancelled) is named, so the turn shows everything it called
            return self._name_unnamed() + text + self._duration(item)
        if not text:
            return ""
        prefix = self._name_unnamed()
        self._last = None
        return prefix + text

    def _name_unnamed(self, but: str | None = None) -> str:
        out = ""
        for call_id, block in list(self._unnamed.items()):
            if call_id != but:
                del self._unnamed[call_id]
                self._named.add(call_id)
                out += self._block("tool", f"function_tool: {block.title}", late=block.late)
                self._last = call_id
        return out

    def _tool(self, update: Update) -> str:
        block, call_id = update.block, update.block.call_id
        title = f"function_tool: {block.title}"
        if update.change == "started":
            if call_id not in self._named:
                self._unnamed.setdefault(call_id, block)
            return ""
        out = self._name_unnamed(but=call_id)
        named = call_id in self._named
        self._unnamed.pop(call_id, None)
        if update.change == "progress":
            glyph = self._c("dim", GLYPHS["progress"])
            line = _indent(f"{glyph} {block.progress[-1]}")
            if self._last != call_id:
                out += self._block("tool", title, late=block.late)
            self._named.add(call_id)
            self._last = call_id
            return out + line + "\n"
        self._named.discard(call_id)
        body = self._tool_body(block)
        if not named:  # the plain case: one block
            self._last = call_id
            return out + self._block("tool", title, body, block.late)
        if body is None:
            return out
        if self._last != call_id:
            out += self._block("tool", title, late=block.late)
        self._last = call_id
        return out + _indent(body) + "\n"

    def _text(self, update: Update) -> str:
        block = update.block
        match block.kind:
            case "user" | "agent" | "handoff" | "ended":
                title = {"user": "You", "agent": "Agent"}.get(block.kind, block.title)
                if self.labels:
                    title = block.label
                body = block.body if block.kind != "handoff" else None
                out = self._block(_ROLE[block.kind], title, body or None, block.late)
                return out + self._latency(block) if block.kind == "agent" else out
            case "error" if update.change == "turn_error":
                return self._error(block.messages[-1], block.late)
            case "error" | "turn_end":
                return self._error(block.title, block.late)
            case "reload" if block.status == "ok":
                return self._block("handoff", block.title, block.body)
            case "reload":
                return self._error(f"{block.title}\n{block.body}")
        return ""

    def _latency(self, block: Block) -> str:
        if not self.metrics:
            return ""
        lat = block.latency or {}
        parts = " · ".join(f"{k} {_seconds(lat.get(k))}" for k in LATENCY_KEYS)
        return "    " + self._c("dim", parts) + "\n"

    def _duration(self, fin: it.TurnFinished) -> str:
        if not self.metrics or fin.duration_ms is None:
            return ""
        return "\n  " + self._c("dim", f"turn {format_ms(fin.duration_ms)}") + "\n"

    def cut_note(self, item: it.ChatItem) -> str | None:
        """For a finished tool call whose output the text form shortened: one line
        saying how much was left out and how to see it (``None`` otherwise)."""
        if self.full_output or not isinstance(item, it.ToolCall) or not item.finished:
            return None
        if item.status == "cancelled":
            return None
        lines, chars = cut_size(item.output or "")
        if not chars:
            return None
        more = f"{_thousands(chars)} more character{'s' * (chars != 1)}"
        if lines:
            more += f" on {_thousands(lines)} more line{'s' * (lines != 1)}"
        return f"    (output of {item.name} cut: {more}; --full-output prints it all)\n"

    def _tool_body(self, block: Block) -> str | None:
        """The result line: the view's glyph and result; with ``full_output`` the whole
        output, its later lines indented under the first (after ``✓ ``)."""
        if block.status == "done" and not block.failed and not block.output:
            return None
        role = "ok" if block.status == "done" and not block.failed else "error"
        shown = block.result
        if self.full_output and block.output and block.status != "cancelled":
            lines = block.output.splitlines()
            rest = (("  " + ln) if ln.strip() else "" for ln in lines[1:])
            shown = "\n".join([lines[0], *rest])
        return self._c(role, block.glyph) + " " + shown

    def _error(self, message: str, late: str = "") -> str:
        lines = message.strip().splitlines() or [""]
        note = f" ({late})" if late and self.labels else ""
        head = f"\n  {self._c('error', GLYPHS['error'])} {lines[0]}{note}\n"
        return head + "".join(f"    {ln}\n" if ln.strip() else "\n" for ln in lines[1:])


def render_json(item: it.ChatItem, *, before_turn: bool = False) -> str:
    """One JSON line (with newline) for ``--json``; ``before_turn`` adds
    ``"before_turn": true`` (an item no client had seen, printed ahead of a turn)."""
    if not before_turn:
        return item.to_json() + "\n"
    d = item.to_dict()
    d["before_turn"] = True
    return json.dumps(d, ensure_ascii=False, separators=(",", ":")) + "\n"


BEFORE_TURN = "(before this turn)"


def mark_before_turn(text: str) -> str:
    """Append ``(before this turn)`` to the first line of a rendered block (its
    ``● title`` or ``✗ message`` line); '' stays ''."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            lines[i] = f"{line} {BEFORE_TURN}"
            return "\n".join(lines)
    return text
