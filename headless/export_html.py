"""The HTML export: one standalone page (UTF-8, inline CSS, no scripts, fonts or
images), light and dark (``color-scheme``), readable from 390 px wide up.

It styles the view's blocks (:mod:`parley.app.view` decides what is shown, the
labels, glyphs and notes). Every message shows who spoke and when, relative to the
session start. Agent text is rendered as Markdown by markdown-it-py
with raw HTML disabled (a ``<b>`` in agent text shows as typed), images shown as
links (an export loads nothing), links marked ``rel="nofollow noopener noreferrer"``;
user text is shown as typed. A tool call is a ``<details>`` row whose summary shows
its status glyph, name, arguments and the first line of its result; opened, its
arguments and (when there is one) its output. All other text goes through
:func:`html.escape`.

Classes: ``msg user`` / ``msg agent`` (``late`` for an item of a cancelled turn),
``tool`` with its status (``done``, ``failed``, ``cancelled``, ``running``),
``handoff`` (also the end of a call and a reload), ``alert`` (errors, cancelled and
failed turns, failed reloads).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from parley.app.protocol.sanitize import escape_controls
from parley.app.session.eventlog import Recording
from parley.app.view import Block
from parley.headless.transcript import clock, fold, meta, pretty_args, relative_time

CSS = """
:root { color-scheme: light dark; --bg:#fafafa; --fg:#1d1d1f; --muted:#6e6e73; --you:#0a66c2;
  --agent:#1a7f37; --tool:#9a6700; --err:#cf222e; --card:#fff; --line:#d0d7de; --code:#f0f2f4; }
@media (prefers-color-scheme: dark) { :root { --bg:#0d1117; --fg:#e6edf3; --muted:#8b949e;
  --you:#58a6ff; --agent:#3fb950; --tool:#d29922; --err:#f85149; --card:#161b22;
  --line:#30363d; --code:#0d1117; } }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font:15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.3rem; margin: 0 0 .5rem; overflow-wrap:anywhere; }
dl.meta { display:grid; grid-template-columns:max-content 1fr; gap:.1rem 1rem; margin:0 0 1.5rem;
  color:var(--muted); font-size:.9rem; }
dl.meta dt { font-weight:600; } dl.meta dd { margin:0; overflow-wrap:anywhere; }
.msg { background:var(--card); border:1px solid var(--line); border-left:4px solid var(--agent);
  border-radius:6px; padding:.5rem .8rem; margin:.6rem 0; }
.msg.user { border-left-color:var(--you); }
.who { display:flex; flex-wrap:wrap; gap:0 .6rem; align-items:baseline; font-size:.85rem; }
.who .name { font-weight:600; color:var(--agent); }
.msg.user .who .name { color:var(--you); }
.who time, .note { color:var(--muted); font-size:.8rem; font-variant-numeric:tabular-nums; }
.note { font-style:italic; }
.late { opacity:.75; border-style:dashed; }
.text { overflow-wrap:anywhere; }
.text.plain { white-space:pre-wrap; }
.text > :first-child { margin-top:.1rem; } .text > :last-child { margin-bottom:0; }
.text p, .text ul, .text ol, .text blockquote, .text table { margin:.4rem 0; }
.text ul, .text ol { padding-left:1.4rem; }
.text blockquote { border-left:3px solid var(--line); margin-left:0; padding-left:.8rem;
  color:var(--muted); }
.text table { border-collapse:collapse; display:block; overflow-x:auto; }
.text th, .text td { border:1px solid var(--line); padding:.2rem .5rem; }
.text h1, .text h2, .text h3, .text h4 { font-size:1rem; margin:.6rem 0 .2rem; }
code { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:.85em;
  background:var(--code); border-radius:3px; padding:.05rem .25rem; }
pre { margin:.2rem 0 .6rem; padding:.5rem; background:var(--code); border-radius:4px;
  white-space:pre-wrap; overflow-wrap:anywhere; font-size:.85rem; }
pre code { background:none; padding:0; font-size:inherit; }
details.tool { border:1px solid var(--line); border-left:4px solid var(--tool); border-radius:6px;
  margin:.6rem 0 .6rem 1.5rem; background:var(--card); }
details.tool.failed, details.tool.cancelled { border-left-color:var(--err); }
details.tool summary { cursor:pointer; padding:.35rem .8rem; font-size:.9rem;
  overflow-wrap:anywhere; }
details.tool summary .name { font-family:ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-weight:600; }
details.tool summary .args, details.tool summary .result { color:var(--muted); }
details.tool summary .mark { display:inline-block; width:1.1em; text-align:center; }
details.tool.failed summary .mark, details.tool.cancelled summary .mark { color:var(--err); }
details.tool.done summary .mark { color:var(--agent); }
details.tool .body { padding:0 .8rem .5rem; }
.label { font-size:.8rem; color:var(--muted); }
.handoff { display:flex; align-items:center; gap:.6rem; color:var(--muted); font-size:.9rem;
  margin:1rem 0; }
.handoff::before, .handoff::after { content:""; flex:1; border-top:1px solid var(--line); }
.alert .detail, .handoff .detail { font-size:.85rem; color:var(--muted); }
.alert { color:var(--err); border:1px solid var(--err); border-radius:6px; padding:.4rem .8rem;
  margin:.6rem 0; white-space:pre-wrap; overflow-wrap:anywhere; }
footer { color:var(--muted); font-size:.8rem; margin-top:2rem; }
@media (max-width: 30rem) { main { padding:1rem .6rem 2rem; }
  details.tool { margin-left:.6rem; } .msg { padding:.4rem .6rem; } }
"""


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True})
    md.enable(["table", "strikethrough"])

    def link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        return str(self.renderToken(tokens, idx, options, env))

    def image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        tok = tokens[idx]  # a link to the image, never a request for it
        alt = self.renderInlineAsText(tok.children or [], options, env) or "image"
        src = html.escape(str(tok.attrGet("src") or ""), quote=True)
        return f'<a href="{src}" rel="nofollow noopener noreferrer">{html.escape(alt)}</a>'

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("image", image)
    return md


_MD = _markdown()


def agent_html(text: str) -> str:
    """Agent text (Markdown) as HTML; raw HTML in it is shown as text."""
    return _MD.render(text)


def _e(text: str) -> str:
    return html.escape(escape_controls(text), quote=True)


def _who(block: Block, at: float | None) -> str:
    parts = [f'<span class="name">{_e(block.label)}</span>']
    if at is not None:
        parts.append(f'<time datetime="PT{at:.3f}S">{relative_time(at)}</time>')
    if block.late:
        parts.append(f'<span class="note">{_e(block.late)}</span>')
    return f'<div class="who">{" ".join(parts)}</div>'


def _message(block: Block, at: float | None) -> str:
    late = " late" if block.late else ""
    if block.kind == "user":
        text = f'<div class="text plain">{_e(block.body.strip())}</div>'
    else:
        text = f'<div class="text md">{agent_html(block.body.strip())}</div>'
    return f'<div class="msg {block.kind}{late}">{_who(block, at)}{text}</div>'


def _tool(block: Block) -> str:
    state = "failed" if block.failed else block.status
    late = " late" if block.late else ""
    summary = [
        f'<span class="mark">{_e(block.glyph)}</span>',
        f'<span class="name">{_e(block.title)}</span>',
    ]
    if block.args:
        summary.append(f'<span class="args">{_e(block.args)}</span>')
    if block.result:
        summary.append(f'<span class="result">→ {_e(block.result)}</span>')
    if block.late:
        summary.append(f'<span class="note">{_e(block.late)}</span>')
    parts = [
        f'<details class="tool {state}{late}"><summary>{" ".join(summary)}</summary>',
        '<div class="body"><div class="label">arguments</div>',
        f"<pre>{_e(pretty_args(block.arguments or '{}')[0])}</pre>",
    ]
    if block.progress:
        parts.append(
            f'<div class="label">progress</div><pre>{_e(chr(10).join(block.progress))}</pre>'
        )
    if block.output:
        parts.append(f'<div class="label">output</div><pre>{_e(block.output)}</pre>')
    parts.append("</div></details>")
    return "".join(parts)


def _alert(block: Block, lines: list[str]) -> str:
    late = " late" if block.late else ""
    note = f' <span class="note">({_e(block.late)})</span>' if block.late else ""
    first, *rest = [ln for ln in lines if ln.strip()] or [""]
    detail = "".join(f'<div class="detail">{_e(ln)}</div>' for ln in rest)
    return f'<div class="alert{late}">{_e(block.glyph)} {_e(first)}{note}{detail}</div>'


def _divider(block: Block) -> str:
    line = " ".join(p for p in (block.glyph, block.title) if p)
    body = f'<div class="detail">{_e(block.body)}</div>' if block.body else ""
    return f'<div class="handoff {block.kind}"><span>{_e(line)}{body}</span></div>'


def to_html(rec: Recording) -> str:
    """The recording as one standalone HTML5 page (see the module docstring), the view's
    blocks (:func:`parley.headless.transcript.fold`) styled."""
    h = rec.header
    title = f"parley: {h.get('agent_id') or 'agent'} — {h.get('session_id') or 'session'}"
    body: list[str] = [f"<h1>{_e(title)}</h1>", '<dl class="meta">']
    body += [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta(rec)]
    body.append("</dl>")
    seconds = clock(rec)
    for block in fold(rec.items):
        match block.kind:
            case "user" | "agent":
                body.append(_message(block, seconds(block)))
            case "tool":
                body.append(_tool(block))
            case "handoff" | "ended" | "reload" if block.status != "error":
                body.append(_divider(block))
            case "error":
                body.append(_alert(block, list(block.messages)))
            case "turn_end":
                body.append(_alert(block, [f"{block.title} {block.quote}".strip()]))
            case "reload":
                body.append(_alert(block, [block.title, block.body]))
    note = " The recording's last line was cut short and is left out." if rec.truncated else ""
    body.append(f"<footer>Exported by parley.{_e(note)}</footer>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light dark">\n'
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )
