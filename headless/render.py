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

Standard library, :mod:`parley.app.protocol.items` and
:mod:`parley.app.protocol.sanitize` only: this is on the
``say`` hot path.
"""

from __future__ import annotations

import json
import os
from typing import IO

from parley.app.protocol import items as it
from parley.app.protocol.latency import LATENCY_KEYS, format_seconds
from parley.app.protocol.sanitize import escape_fields

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


def cut_size(text: str, cap: int = OUTPUT_CAP) -> tuple[int, int]:
    """What :func:`first_line` leaves out of ``text``: ``(lines, characters)``, both 0
    when nothing is cut (characters count the stripped text, newlines included)."""
    body = text.strip()
    shown = first_line(body, cap)
    if shown.endswith(" …"):
        shown = shown[:-2]
    elif shown.endswith("…") and shown != body:
        shown = shown[:-1]
    return max(0, len(body.splitlines()) - 1), len(body) - len(shown)


def _thousands(n: int) -> str:
    return f"{n:,}"


class TextRenderer:
    """Turns chat items into the text blocks above.

    ``metrics``: show each agent message's latencies and each turn's duration;
    ``full_output``: show tool outputs in full. Stateful: feed it one stream's items in
    ``seq`` order (one renderer per stream), as it names running tools lazily and prints
    each error once per turn.
    """

    def __init__(
        self, color: bool = False, *, metrics: bool = False, full_output: bool = False
    ) -> None:
        self.color = color
        self.metrics = metrics
        self.full_output = full_output
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
        """The text for one item ('' for items with nothing to show). Control
        characters in its text are shown escaped
        (:func:`parley.app.protocol.sanitize.escape_fields`), never sent to the
        terminal; the colours are added after."""
        item = escape_fields(item)
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
            case it.AgentMessage(text=text) as msg:
                if not text.strip():
                    return ""
                return self._block("agent", "Agent", text) + self._latency(msg)
            case it.Handoff(from_agent=None, to_agent=to):
                return self._block("handoff", f"agent: {to}")
            case it.Handoff(from_agent=frm, to_agent=to):
                return self._block("handoff", f"handoff: {frm} → {to}")
            case it.AgentError(background=True):
                return ""  # recorded, never shown in a turn
            case it.AgentError(kind="call_ended", message=msg):
                head, _, rest = msg.partition("; ")
                return self._block("handoff", head, rest or None)
            case it.AgentError(message=msg):
                self._errors.add(msg.strip())
                return self._error(msg)
            case it.Reload(error=None) as r:
                return self._block("handoff", f"reloaded: {_files(r.files)}", _reload_body(r))
            case it.Reload() as r:
                return self._error(
                    f"reload failed ({_files(r.files)}); the previous agent keeps running\n"
                    f"{r.error}"
                )
            case it.TurnFinished() as fin:
                return self._turn_end(fin) + self._duration(fin)
        return ""

    def _turn_end(self, fin: it.TurnFinished) -> str:
        if fin.status == "error":
            if (fin.error or "").strip() in self._errors:
                return ""  # already shown by the agent's error event
            return self._error(fin.error or "the turn failed")
        if fin.status == "cancelled":
            return self._error("turn cancelled")
        if fin.status == "timeout":
            return self._error("turn timed out")
        return ""

    def _latency(self, msg: it.AgentMessage) -> str:
        if not self.metrics:
            return ""
        lat = msg.latency or {}
        parts = " · ".join(f"{k} {format_seconds(lat.get(k))}" for k in LATENCY_KEYS)
        return "    " + self._c("dim", parts) + "\n"

    def _duration(self, fin: it.TurnFinished) -> str:
        if not self.metrics or fin.duration_ms is None:
            return ""
        return "\n  " + self._c("dim", f"turn {format_seconds(fin.duration_ms / 1000)}") + "\n"

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

    def _tool_body(self, call: it.ToolCall) -> str | None:
        output = (call.output or "").strip()
        if call.status == "cancelled":
            return self._c("error", "✗") + " cancelled"
        shown = self._output(output)
        if call.is_error or call.status == "error":
            return self._c("error", "✗") + " " + (shown or "error")
        if not output:
            return None
        return self._c("ok", "✓") + " " + shown

    def _output(self, output: str) -> str:
        """The first line (capped), or with ``full_output`` every line, the later ones
        indented under the first (after ``✓ ``)."""
        if not self.full_output:
            return first_line(output)
        lines = output.splitlines() or [""]
        return "\n".join([lines[0], *(("  " + ln) if ln.strip() else "" for ln in lines[1:])])

    def _error(self, message: str) -> str:
        lines = message.strip().splitlines() or [""]
        head = f"\n  {self._c('error', '✗')} {lines[0]}\n"
        return head + "".join(f"    {ln}\n" if ln.strip() else "\n" for ln in lines[1:])


def _files(files: list[str], cap: int = 3) -> str:
    shown = ", ".join(files[:cap]) or "agent sources"
    return shown + (f" and {len(files) - cap} more" if len(files) > cap else "")


def _reload_body(r: it.Reload) -> str:
    parts = [f"agent pid {r.agent_pid}"] if r.agent_pid else []
    if r.duration_ms is not None:
        parts.append(f"{r.duration_ms:.0f} ms" + (", warm" if r.warm else ""))
    return ", ".join(parts)


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
