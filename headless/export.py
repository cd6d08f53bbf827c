"""Exporting a recording: Markdown, JSON lines, a standalone HTML page, an asciicast.

Every format is built from :class:`parley.app.session.eventlog.Recording` (header + items):

- ``md``: a transcript; tool calls are ``<details>`` blocks with their arguments and
  output, handoffs and errors are one line each.
- ``json``: the event log's lines exactly as stored (a truncated last line dropped).
- ``html``: one page with inline CSS and no external asset (no scripts, fonts or
  images); all agent and tool text goes through :func:`html.escape`.
- ``cast``: an asciicast v2 file (https://docs.asciinema.org/manual/asciicast/v2/) of
  the headless rendering (what ``parley replay --headless`` prints) with the
  recorded timing paced like ``replay`` (gaps capped at ``max_gap``), ``\\n`` turned
  into ``\\r\\n`` as a terminal's line discipline would.

Agent state, usage and config updates are left out of ``md``/``html``/``cast``, as
in the text renderer. Standard library only.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from parley.app.protocol import items as it
from parley.app.protocol.sanitize import escape_controls, escape_fields
from parley.app.session.eventlog import Recording
from parley.app.session.replay import MAX_GAP, timed_text

FORMATS = ("md", "json", "html", "cast")
SUFFIXES = {".md": "md", ".markdown": "md", ".json": "json", ".jsonl": "json"}
SUFFIXES |= {".html": "html", ".htm": "html", ".cast": "cast"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def transcript(items: list[it.ChatItem]) -> Iterator[it.ChatItem]:
    """The items a transcript shows, in order: messages, handoffs, errors, failed
    turns, and each tool call once (its final update, else its start if it never
    finished). Their text has control characters escaped
    (:func:`parley.app.protocol.sanitize.escape_fields`): a viewer of the export is a terminal or a
    browser, never a place for them."""
    finished = {i.call_id for i in items if isinstance(i, it.ToolCall) and i.finished}
    for item in items:
        match item:
            case it.ToolCall() as call if call.finished or call.call_id not in finished:
                yield escape_fields(call)
            case it.AgentMessage(text=text) if text.strip():
                yield escape_fields(item)
            case it.AgentError(background=True):
                continue  # recorded, never shown
            case it.UserMessage() | it.Handoff() | it.AgentError():
                yield escape_fields(item)
            case it.TurnFinished(status=status) if status != "ok":
                yield escape_fields(item)


def pretty_args(arguments: str) -> tuple[str, bool]:
    """Tool ``arguments`` (the model's JSON text) indented when it is JSON, and
    whether it was (the raw text otherwise). The chat UI's tool pane uses it too."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False), True
    except ValueError:
        return arguments, False


def _when(ts: Any) -> str:
    if not isinstance(ts, (int, float)) or not ts:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(ts))


def _tool_mark(call: it.ToolCall) -> str:
    if call.status == "running":
        return "… running (no result recorded)"
    if call.status == "cancelled":
        return "✗ cancelled"
    if call.is_error or call.status == "error":
        return "✗ error"
    return "✓ done"


def _turn_error(item: it.TurnFinished) -> str:
    return {"cancelled": "turn cancelled", "timeout": "turn timed out"}.get(
        item.status, item.error or "the turn failed"
    )


def _meta(rec: Recording) -> list[tuple[str, str]]:
    h = rec.header
    rows = [
        ("Session", str(h.get("session_id") or "?")),
        ("Agent", str(h.get("agent_id") or "?")),
        ("Agent file", str(h.get("agent_file") or "?")),
        ("Started", _when(h.get("started_at"))),
        ("Recorded with", f"parley {h.get('parley_version', '?')}, schema {h.get('schema')}"),
    ]
    return [(k, escape_controls(v)) for k, v in rows]


# -- Markdown ---------------------------------------------------------------------


def _fence(text: str, lang: str = "") -> str:
    """A fenced code block longer than any backtick run in ``text``."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _md_text(text: str) -> str:
    """Message text as Markdown: HTML-escaped (so ``<tag>`` shows as typed), hard
    line breaks kept."""
    lines = html.escape(text.strip(), quote=False).splitlines() or [""]
    return "  \n".join(lines)


def to_markdown(rec: Recording) -> str:
    """The recording as a Markdown transcript (GitHub-flavoured: ``<details>``)."""
    h = rec.header
    out = [escape_controls(f"# parley session {h.get('session_id') or ''}".rstrip()), ""]
    out += [f"- **{k}:** {html.escape(v, quote=False)}" for k, v in _meta(rec)]
    if rec.truncated:
        out.append("- **Note:** the recording's last line was cut short and is left out")
    out.append("")
    for item in transcript(rec.items):
        match item:
            case it.UserMessage(text=text):
                out += ["**You:**", "", _md_text(text), ""]
            case it.AgentMessage(text=text, agent_id=agent):
                out += [f"**Agent ({agent or 'agent'}):**", "", _md_text(text), ""]
            case it.ToolCall() as call:
                summary = html.escape(f"🔧 {call.name} — {_tool_mark(call)}")
                out += ["<details>", f"<summary>{summary}</summary>", ""]
                args, is_json = pretty_args(call.arguments or "{}")
                out += ["Arguments:", "", _fence(args, "json" if is_json else ""), ""]
                if call.output is not None:
                    out += ["Output:", "", _fence(call.output), ""]
                out += ["</details>", ""]
            case it.Handoff(from_agent=None, to_agent=to):
                out += [f"*→ agent: {html.escape(to)}*", ""]
            case it.Handoff(from_agent=frm, to_agent=to):
                out += [f"*→ handoff: {html.escape(frm or '')} → {html.escape(to)}*", ""]
            case it.AgentError(message=msg):
                out += [f"> ✗ **Error:** {_md_text(msg)}", ""]
            case it.TurnFinished() as fin:
                out += [f"> ✗ {_md_text(_turn_error(fin))}", ""]
    return "\n".join(out).rstrip("\n") + "\n"


# -- JSON lines -------------------------------------------------------------------


def to_jsonl(path: Path | str, rec: Recording) -> str:
    """The event log at ``path`` as stored, without a truncated last line."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    if rec.truncated:
        text = text[: text.rfind("\n") + 1]
    elif text and not text.endswith("\n"):
        text += "\n"
    return text


def items_json(items: Iterable[it.ChatItem]) -> str:
    """A JSON array of the items' JSON objects, indented (the chat UI's JSON export
    of what its transcript shows)."""
    return json.dumps([i.to_dict() for i in items], ensure_ascii=False, indent=2) + "\n"


# -- HTML -------------------------------------------------------------------------

_CSS = """
:root { --bg:#fafafa; --fg:#1d1d1f; --muted:#6e6e73; --you:#0a66c2; --agent:#1a7f37;
  --tool:#9a6700; --err:#cf222e; --card:#fff; --line:#d0d7de; }
@media (prefers-color-scheme: dark) { :root { --bg:#0d1117; --fg:#e6edf3; --muted:#8b949e;
  --you:#58a6ff; --agent:#3fb950; --tool:#d29922; --err:#f85149; --card:#161b22;
  --line:#30363d; } }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font:15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.3rem; margin: 0 0 .5rem; }
dl.meta { display:grid; grid-template-columns:max-content 1fr; gap:.1rem 1rem; margin:0 0 1.5rem;
  color:var(--muted); font-size:.9rem; }
dl.meta dt { font-weight:600; } dl.meta dd { margin:0; overflow-wrap:anywhere; }
.msg { background:var(--card); border:1px solid var(--line); border-left:4px solid var(--agent);
  border-radius:6px; padding:.5rem .8rem; margin:.6rem 0; }
.msg.you { border-left-color:var(--you); }
.who { font-weight:600; font-size:.85rem; color:var(--agent); }
.you .who { color:var(--you); }
.text { white-space:pre-wrap; overflow-wrap:anywhere; }
details.tool { border:1px solid var(--line); border-left:4px solid var(--tool); border-radius:6px;
  margin:.6rem 0 .6rem 1.5rem; background:var(--card); }
details.tool summary { cursor:pointer; padding:.35rem .8rem; font-family:ui-monospace, monospace;
  font-size:.9rem; }
details.tool.error summary .mark { color:var(--err); }
details.tool .body { padding:0 .8rem .5rem; }
pre { margin:.2rem 0 .6rem; padding:.5rem; background:var(--bg); border-radius:4px;
  white-space:pre-wrap; overflow-wrap:anywhere; font-size:.85rem; }
.label { font-size:.8rem; color:var(--muted); }
.handoff { text-align:center; color:var(--muted); font-size:.9rem; margin:1rem 0; }
.handoff::before, .handoff::after { content:"────"; margin:0 .5rem; color:var(--line); }
.error { color:var(--err); border:1px solid var(--err); border-radius:6px; padding:.4rem .8rem;
  margin:.6rem 0; white-space:pre-wrap; }
footer { color:var(--muted); font-size:.8rem; margin-top:2rem; }
"""


def _e(text: str) -> str:
    return html.escape(escape_controls(text), quote=True)


def to_html(rec: Recording) -> str:
    """The recording as one standalone HTML5 page (UTF-8, inline CSS, no scripts)."""
    h = rec.header
    title = f"parley: {h.get('agent_id') or 'agent'} — {h.get('session_id') or 'session'}"
    body: list[str] = [f"<h1>{_e(title)}</h1>", '<dl class="meta">']
    body += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in _meta(rec)]
    body.append("</dl>")
    for item in transcript(rec.items):
        match item:
            case it.UserMessage(text=text):
                body.append(
                    '<div class="msg you"><div class="who">You</div>'
                    f'<div class="text">{_e(text.strip())}</div></div>'
                )
            case it.AgentMessage(text=text, agent_id=agent):
                body.append(
                    f'<div class="msg agent"><div class="who">{_e(agent or "Agent")}</div>'
                    f'<div class="text">{_e(text.strip())}</div></div>'
                )
            case it.ToolCall() as call:
                failed = call.is_error or call.status in ("error", "cancelled")
                cls = "tool error" if failed else "tool"
                parts = [
                    f'<details class="{cls}"><summary>🔧 {_e(call.name)} '
                    f'<span class="mark">{_e(_tool_mark(call))}</span></summary>',
                    '<div class="body"><div class="label">arguments</div>',
                    f"<pre>{_e(pretty_args(call.arguments or '{}')[0])}</pre>",
                ]
                if call.output is not None:
                    parts.append(f'<div class="label">output</div><pre>{_e(call.output)}</pre>')
                parts.append("</div></details>")
                body.append("".join(parts))
            case it.Handoff(from_agent=frm, to_agent=to):
                what = f"agent: {to}" if frm is None else f"handoff: {frm} → {to}"
                body.append(f'<div class="handoff">{_e(what)}</div>')
            case it.AgentError(message=msg):
                body.append(f'<div class="error">✗ {_e(msg.strip())}</div>')
            case it.TurnFinished() as fin:
                body.append(f'<div class="error">✗ {_e(_turn_error(fin))}</div>')
    note = " The recording's last line was cut short and is left out." if rec.truncated else ""
    body.append(f"<footer>Exported by parley.{_e(note)}</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


# -- asciicast v2 -----------------------------------------------------------------


def to_cast(
    rec: Recording,
    *,
    color: bool = True,
    max_gap: float = MAX_GAP,
    width: int | None = None,
    height: int = 30,
) -> str:
    """The headless rendering as asciicast v2: a header line, then ``[t, "o", text]``
    events with non-decreasing ``t`` (seconds, from 0). ``width`` defaults to the
    longest rendered line, between 80 and 160 columns."""
    from parley.headless.render import TextRenderer

    renderer = TextRenderer(color=color)
    events = list(timed_text(rec.items, renderer.render, max_gap=max_gap))
    if width is None:
        plain = (_ANSI.sub("", t) for _, t in events)
        longest = max((len(ln) for t in plain for ln in t.splitlines()), default=0)
        width = min(160, max(80, longest + 2))
    h = rec.header
    header: dict[str, Any] = {
        "version": 2,
        "width": width,
        "height": height,
        "timestamp": int(h.get("started_at") or time.time()),
        "title": escape_controls(
            f"parley: {h.get('agent_id') or 'agent'} ({h.get('session_id') or 'session'})"
        ),
        "env": {"TERM": "xterm-256color"},
    }
    if math.isfinite(max_gap):
        header["idle_time_limit"] = max_gap
    lines = [json.dumps(header, ensure_ascii=False)]
    for t, text in events:
        out = text.replace("\r\n", "\n").replace("\n", "\r\n")
        lines.append(json.dumps([round(t, 6), "o", out], ensure_ascii=False))
    return "\n".join(lines) + "\n"


def export(rec: Recording, fmt: str, path: Path | str, *, color: bool = True) -> str:
    """``rec`` (read from ``path``) in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "md":
        return to_markdown(rec)
    if fmt == "json":
        return to_jsonl(path, rec)
    if fmt == "html":
        return to_html(rec)
    if fmt == "cast":
        return to_cast(rec, color=color)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
