"""What every export shows of a recording: its header rows and its items as blocks.

The Markdown, HTML and asciicast exports walk a recording only through
:func:`blocks` and :func:`meta`, so what is shown and how it is labelled is decided
here, once:

- a reply is labelled with the id of the agent that spoke it (``concierge``,
  ``billing``), ``Agent`` when the recording does not say; the text form of ``say``
  keeps LiveKit's ``● Agent``;
- user text is shown as typed, agent text is Markdown (the chat UI renders it too);
- an item that arrived after its turn was cancelled (the agent goes on until the next
  ``run_input`` interrupts it; see :mod:`parley.app.session.session`) carries the note
  :func:`late_note`, the chat UI's wording;
- the agent file is shown relative to the project (an absolute path would put the
  recording user's home directory into a shared export); ``--format json`` keeps the
  header as stored.

Standard library only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from parley.app.protocol import items as it
from parley.app.protocol.sanitize import escape_controls, escape_fields
from parley.app.session.eventlog import Recording

BlockKind = Literal["user", "agent", "tool", "handoff", "error"]

#: status glyphs of a tool call; plain text symbols, no colour-emoji font needed
TOOL_GLYPHS = {"running": "⋯", "done": "✓", "error": "✗", "cancelled": "⊘"}


def transcript(items: list[it.ChatItem]) -> Iterator[it.ChatItem]:
    """The items a transcript shows, in order: messages, handoffs, errors, failed
    turns, and each tool call once (its final update, else its start if it never
    finished). Their text has control characters escaped
    (:func:`parley.app.protocol.sanitize.escape_fields`): a viewer of the export is a terminal or a
    browser, never a place for them."""
    return (escape_fields(item) for item in _shown(items))


def _shown(items: list[it.ChatItem]) -> Iterator[it.ChatItem]:
    finished = {i.call_id for i in items if isinstance(i, it.ToolCall) and i.finished}
    for item in items:
        match item:
            case it.ToolCall() as call if call.finished:
                yield call
            case it.ToolCall() as call if call.call_id not in finished and call.progress is None:
                yield call  # it never finished: its start
            case it.AgentMessage(text=text) if text.strip():
                yield item
            case it.AgentError(background=True):
                continue  # recorded, never shown
            case it.UserMessage() | it.Handoff() | it.AgentError():
                yield item
            case it.TurnFinished(status=status) if status != "ok":
                yield item


@dataclass(frozen=True)
class Block:
    """One shown item. ``title``: who or what (``You``, the agent's id, the tool's
    name, the handoff); ``body``: the text (a message, an error, a tool's output, ''
    when none); ``status``: a tool call's status, a failed turn's status, else
    ``None``; ``at``: seconds since the session started (``None`` when either time is
    unknown); ``note``: :func:`late_note` for an item of a cancelled turn, else ''."""

    kind: BlockKind
    title: str
    body: str
    item: it.ChatItem
    status: str | None = None
    at: float | None = None
    note: str = ""


def agent_label(agent_id: str | None) -> str:
    """How every export labels a reply: the agent's id, ``Agent`` when unknown."""
    return agent_id or "Agent"


def late_note(turn_text: str | None) -> str:
    """The note of an item that arrived after its turn was cancelled (the chat UI's
    wording): ``late, from the cancelled turn “what was asked”``."""
    if not turn_text:
        return "late, from the cancelled turn"
    flat = " ".join(turn_text.split())
    flat = flat if len(flat) <= 40 else flat[:39] + "…"
    return f"late, from the cancelled turn “{flat}”"


def turn_error(item: it.TurnFinished) -> str:
    """What a failed turn's line says."""
    return {"cancelled": "turn cancelled", "timeout": "turn timed out"}.get(
        item.status, item.error or "the turn failed"
    )


class LateItems:
    """Tells the items that arrived after their turn was cancelled: feed it every item
    of the stream in order (:meth:`note` returns the note for each)."""

    def __init__(self) -> None:
        self._asked: dict[str, str] = {}  # turn id -> what the user typed
        self._cancelled: set[str] = set()

    def note(self, item: it.ChatItem) -> str:
        turn = item.turn_id
        if turn is None:
            return ""
        if isinstance(item, it.UserMessage):
            self._asked.setdefault(turn, item.text)
        if turn in self._cancelled:
            return late_note(self._asked.get(turn))
        if isinstance(item, it.TurnFinished) and item.status == "cancelled":
            self._cancelled.add(turn)
        return ""


def blocks(rec: Recording) -> Iterator[Block]:
    """The recording's shown items (:func:`transcript`) as :class:`Block` s, their
    text with control characters escaped."""
    start = rec.header.get("started_at")
    late = LateItems()
    notes = {id(i): late.note(i) for i in rec.items}
    for raw in _shown(rec.items):
        item, note = escape_fields(raw), notes[id(raw)]
        at = item.ts - start if isinstance(start, (int, float)) and start and item.ts else None
        match item:
            case it.UserMessage(text=text):
                yield Block("user", "You", text, item, at=at, note=note)
            case it.AgentMessage(text=text, agent_id=agent):
                yield Block("agent", agent_label(agent), text, item, at=at, note=note)
            case it.ToolCall() as call:
                yield Block("tool", call.name, call.output or "", item, call.status, at, note)
            case it.Handoff(from_agent=None, to_agent=to):
                yield Block("handoff", f"agent: {to}", "", item, at=at)
            case it.Handoff(from_agent=frm, to_agent=to):
                yield Block("handoff", f"handoff: {frm} → {to}", "", item, at=at)
            case it.AgentError(message=msg):
                yield Block("error", "error", msg.strip(), item, at=at, note=note)
            case it.TurnFinished() as fin:
                yield Block("error", "turn", turn_error(fin), item, fin.status, at, note)


def pretty_args(arguments: str) -> tuple[str, bool]:
    """Tool ``arguments`` (the model's JSON text) indented when it is JSON, and
    whether it was (the raw text otherwise). The chat UI's tool pane uses it too."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False), True
    except ValueError:
        return arguments, False


def one_line(text: str, cap: int) -> str:
    """``text`` on one line (whitespace runs folded), at most ``cap`` characters with
    ``…`` marking a cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= cap else flat[: cap - 1] + "…"


def args_summary(arguments: str, cap: int = 60) -> str:
    """Tool arguments as ``key=value`` pairs on one line (``location=Paris``), at most
    ``cap`` characters; the raw text folded to one line when it is not a JSON object
    (the chat UI's tool row shows the same)."""
    try:
        value = json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return one_line(arguments, cap)
    if not isinstance(value, dict):
        return one_line(json.dumps(value, ensure_ascii=False), cap)
    parts = []
    for k, v in value.items():
        shown = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        parts.append(f"{k}={shown}")
    return one_line(" ".join(parts), cap)


def tool_result(call: it.ToolCall, cap: int = 80) -> str:
    """A tool call's result on one line: the first line of its output (capped), or
    what happened when there is none (``cancelled``, ``error``, ``running``)."""
    if call.status == "running":
        return "running (no result recorded)"
    if call.status == "cancelled":
        return "cancelled"
    lines = (call.output or "").strip().splitlines()
    if lines:
        first = lines[0].strip()
        more = len(lines) > 1
        if len(first) > cap or (more and len(first) > cap - 2):
            return first[: cap - 1] + "…"
        return first + " …" if more else first
    return "error" if call.is_error or call.status == "error" else ""


def tool_failed(call: it.ToolCall) -> bool:
    return call.is_error or call.status in ("error", "cancelled")


def tool_glyph(call: it.ToolCall) -> str:
    if call.is_error and call.status == "done":
        return TOOL_GLYPHS["error"]
    return TOOL_GLYPHS.get(call.status, "?")


def relative_time(seconds: float | None) -> str:
    """Seconds since the session started as ``m:ss`` (``h:mm:ss`` past an hour)."""
    if seconds is None:
        return ""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def shown_agent_file(header: dict[str, Any]) -> str:
    """The header's agent file as an export shows it: relative to the recording's
    project when it is inside it, else its file name only; ``?`` when not recorded."""
    path = header.get("agent_file")
    if not path:
        return "?"
    project = header.get("project")
    if project:
        try:
            rel = os.path.relpath(str(path), str(project))
        except ValueError:  # another drive on Windows
            rel = ""
        if rel and not rel.startswith(os.pardir) and not os.path.isabs(rel):
            return rel
    return os.path.basename(str(path)) or str(path)


def _when(ts: Any) -> str:
    if not isinstance(ts, (int, float)) or not ts:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(ts))


def meta(rec: Recording) -> list[tuple[str, str]]:
    """The header rows every export shows, control characters escaped."""
    h = rec.header
    rows = [
        ("Session", str(h.get("session_id") or "?")),
        ("Agent", str(h.get("agent_id") or "?")),
        ("Agent file", shown_agent_file(h)),
        ("Started", _when(h.get("started_at"))),
        ("Recorded with", f"parley {h.get('parley_version', '?')}, schema {h.get('schema')}"),
    ]
    return [(k, escape_controls(v)) for k, v in rows]
