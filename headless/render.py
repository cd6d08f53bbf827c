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

Standard library and :mod:`parley.app.protocol.items` only: this is on the ``say`` hot path.
"""

from __future__ import annotations

import os
from typing import IO

from parley.app.protocol import items as it

OUTPUT_CAP = 120

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


def use_color(stream: IO[str]) -> bool:
    """Colour only on a TTY and never with ``NO_COLOR`` set (https://no-color.org)."""
    if "NO_COLOR" in os.environ:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def first_line(text: str, cap: int = OUTPUT_CAP) -> str:
    """The first line of ``text``, at most ``cap`` characters; ``…`` marks a cut
    (a long line, or further lines left out)."""
    lines = text.strip().splitlines()
    line = lines[0].rstrip() if lines else ""
    more = len(lines) > 1
    if len(line) > cap or (more and len(line) > cap - 2):
        return line[: cap - 1] + "…"
    return line + " …" if more else line


def _indent(text: str) -> str:
    return "\n".join(("    " + ln) if ln.strip() else "" for ln in text.splitlines() or [""])


class TextRenderer:
    """Turns chat items into the text blocks above.

    Stateful: feed it one stream's items in ``seq`` order (one renderer per stream), as
    it names running tools lazily and prints each error once per turn.
    """

    def __init__(self, color: bool = False) -> None:
        self.color = color
        self._unnamed: dict[str, it.ToolCall] = {}  # running tools not printed yet
        self._named: set[str] = set()  # running tools whose ● line is printed
        self._last: str | None = None  # call_id of the tool whose lines end the output
        self._errors: set[str] = set()  # error lines printed in the current turn

    def _c(self, role: str, text: str) -> str:
        return f"\x1b[{_STYLE[role]}m{text}\x1b[0m" if self.color else text

    def _block(self, role: str, title: str, body: str | None = None) -> str:
        out = f"\n  {self._c(role, '● ' + title)}\n"
        if body is not None:
            out += _indent(body) + "\n"
        return out

    def render(self, item: it.ChatItem) -> str:
        """The text for one item ('' for items with nothing to show)."""
        if isinstance(item, it.ToolCall):
            return self._tool(item)
        text = self._render(item)
        if isinstance(item, it.TurnFinished):
            self._errors.clear()
            # a tool still running when its turn ends (parked behind an AgentTask,
            # or cancelled) is named, so the turn shows everything it called
            return self._name_unnamed() + text
        if not text:
            return ""
        prefix = self._name_unnamed()
        self._last = None
        return prefix + text

    def _name_unnamed(self, but: str | None = None) -> str:
        out = ""
        for call_id, call in list(self._unnamed.items()):
            if call_id != but:
                del self._unnamed[call_id]
                self._named.add(call_id)
                out += self._block("tool", f"function_tool: {call.name}")
                self._last = call_id
        return out

    def _tool(self, call: it.ToolCall) -> str:
        title = f"function_tool: {call.name}"
        if call.status == "running" and call.progress is None:  # it started
            if call.call_id not in self._named:
                self._unnamed.setdefault(call.call_id, call)
            return ""
        out = self._name_unnamed(but=call.call_id)
        named = call.call_id in self._named
        self._unnamed.pop(call.call_id, None)
        if call.status == "running":  # a progress update
            line = _indent(self._c("dim", "…") + " " + first_line(call.progress or ""))
            if self._last != call.call_id:
                out += self._block("tool", title)
            self._named.add(call.call_id)
            self._last = call.call_id
            return out + line + "\n"
        self._named.discard(call.call_id)
        body = self._tool_body(call)
        if not named:  # the plain case: one block
            self._last = call.call_id
            return out + self._block("tool", title, body)
        if body is None:
            return out
        if self._last != call.call_id:
            out += self._block("tool", title)
        self._last = call.call_id
        return out + _indent(body) + "\n"

    def _render(self, item: it.ChatItem) -> str:
        match item:
            case it.UserMessage(text=text):
                return self._block("you", "You", text)
            case it.AgentMessage(text=text):
                return self._block("agent", "Agent", text) if text.strip() else ""
            case it.Handoff(from_agent=None, to_agent=to):
                return self._block("handoff", f"agent: {to}")
            case it.Handoff(from_agent=frm, to_agent=to):
                return self._block("handoff", f"handoff: {frm} → {to}")
            case it.AgentError(kind="call_ended", message=msg):
                head, _, rest = msg.partition("; ")
                return self._block("handoff", head, rest or None)
            case it.AgentError(message=msg):
                self._errors.add(msg.strip())
                return self._error(msg)
            case it.TurnFinished(status="error", error=err):
                if (err or "").strip() in self._errors:
                    return ""  # already shown by the agent's error event
                return self._error(err or "the turn failed")
            case it.TurnFinished(status="cancelled"):
                return self._error("turn cancelled")
            case it.TurnFinished(status="timeout"):
                return self._error("turn timed out")
        return ""

    def _tool_body(self, call: it.ToolCall) -> str | None:
        output = (call.output or "").strip()
        if call.status == "cancelled":
            return self._c("error", "✗") + " cancelled"
        if call.is_error or call.status == "error":
            return self._c("error", "✗") + " " + (first_line(output) or "error")
        if not output:
            return None
        return self._c("ok", "✓") + " " + first_line(output)

    def _error(self, message: str) -> str:
        lines = message.strip().splitlines() or [""]
        head = f"\n  {self._c('error', '✗')} {lines[0]}\n"
        return head + "".join(f"    {ln}\n" if ln.strip() else "\n" for ln in lines[1:])


def render_json(item: it.ChatItem) -> str:
    """One JSON line (with newline) for ``--json``."""
    return item.to_json() + "\n"
