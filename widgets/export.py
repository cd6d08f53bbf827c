"""Transcript export: Markdown for people, JSON (the chat items' own JSON form,
see :mod:`app.items`) for programs."""

from __future__ import annotations

import json
from collections.abc import Iterable

from app import items as it
from widgets.rows import compact_args


def _quote(text: str) -> str:
    return "\n".join("> " + ln if ln.strip() else ">" for ln in text.strip().splitlines())


def to_markdown(items: Iterable[it.ChatItem], title: str = "parley transcript") -> str:
    """The transcript as Markdown: one section per message, one line per tool call,
    handoff or error."""
    out = [f"# {title}", ""]
    for item in items:
        match item:
            case it.UserMessage(text=text):
                out += ["**You**", "", text.strip(), ""]
            case it.AgentMessage(text=text, agent_id=agent):
                out += [f"**{agent or 'Agent'}**", "", text.strip(), ""]
            case it.ToolCall() as call:
                status = {"done": "✓", "error": "✗", "cancelled": "⊘"}.get(call.status, "⋯")
                line = f"- tool `{call.name}` `{compact_args(call.arguments)}` {status}"
                if call.output:
                    line += " " + " ".join(call.output.split())
                out += [line, ""]
            case it.Handoff(from_agent=None, to_agent=to):
                out += [f"_agent: {to}_", ""]
            case it.Handoff(from_agent=frm, to_agent=to):
                out += [f"_handoff: {frm} → {to}_", ""]
            case it.AgentError(message=msg):
                out += [_quote("✗ " + msg), ""]
            case it.TurnFinished(status=status, error=err) if status != "ok":
                out += [_quote(f"✗ turn {status}" + (f": {err}" if err else "")), ""]
    return "\n".join(out).rstrip() + "\n"


def to_json(items: Iterable[it.ChatItem]) -> str:
    """A JSON array of the items' JSON objects."""
    return json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2) + "\n"
