"""The Markdown export: a transcript for GitHub-style renderers.

It renders the view's blocks (:mod:`parley.app.view` decides what is shown, the
labels, glyphs and notes); what is left here is Markdown's own rules:

- user text, errors, names and header values are shown **as typed**
  (:func:`md_literal`): Markdown's special characters are backslash-escaped, line
  breaks are hard breaks (a ``\\`` line end, never trailing spaces);
- agent text **is Markdown** (:func:`md_agent`): kept as written, except that raw
  HTML is escaped (``\\<``, so a ``<b>`` shows as typed, as in the HTML export where
  raw HTML is disabled), an image is made a link (``\\![alt](url)``: an export
  loads nothing), the agent's line breaks inside a paragraph become hard
  breaks, trailing spaces go, and a code fence left open is closed. Code spans and
  code blocks are copied byte for byte: nothing is ever escaped inside code;
- tool calls are ``<details>`` blocks; their summary line is HTML (escaped with
  :func:`html.escape`), their arguments and output fenced code blocks longer than any
  backtick run inside.

The block structure comes from markdown-it-py (the CommonMark parser the chat UI
renders agent text with).
"""

from __future__ import annotations

import html
import re
import string

from markdown_it import MarkdownIt

from parley.app.protocol.sanitize import escape_controls
from parley.app.session.eventlog import Recording
from parley.app.view import Block
from parley.headless.transcript import fold, meta, pretty_args

_PARSER = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
_PUNCT = frozenset(string.punctuation)
#: characters special anywhere in a line of text
_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
#: an entity or numeric character reference, which would be decoded
_ENTITY = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
#: what makes a line a heading, quote, list item, setext underline or rule
_LINE_START = re.compile(r"^([#+=-]|\d+(?=[.)]))")
#: a CommonMark autolink (kept: the HTML export links it too)
_AUTOLINK = re.compile(r"<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\s]*>")


def md_literal(text: str) -> str:
    """``text`` as Markdown that renders exactly as typed (one paragraph per run of
    non-blank lines, each line break a hard break)."""
    lines = [ln.strip() for ln in text.strip().splitlines()] or [""]
    out: list[str] = []
    for i, line in enumerate(lines):
        line = _INLINE.sub(r"\\\1", line)
        line = _ENTITY.sub("&amp;", line)
        line = _escape_line_start(line)
        more = i + 1 < len(lines) and lines[i + 1] and line
        out.append(line + "\\" if more else line)
    return "\n".join(out)


def _escape_line_start(line: str) -> str:
    m = _LINE_START.match(line)
    if not m:
        return line
    mark = m.group(1)
    if mark[0].isdigit():  # "1." / "1)": escape the delimiter
        return mark + "\\" + line[len(mark) :]
    return "\\" + line


def md_agent(text: str) -> str:
    """Agent Markdown made safe to embed (see the module docstring): code verbatim,
    raw HTML escaped, soft breaks turned into hard breaks, open fences closed."""
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        del lines[0]
    code: set[int] = set()
    breaks: set[int] = set()  # lines followed by another line of their paragraph
    last: dict[int, int] = {}  # line -> the last line of its paragraph, heading or row
    close: str | None = None
    for tok in _PARSER.parse("\n".join(lines)):
        if tok.map is None:
            continue
        a, b = tok.map
        if tok.type in ("fence", "code_block"):
            code.update(range(a, b))
            # a top-level fence running to the end unclosed would swallow the rest
            # of the transcript (one in a list or quote ends with its container)
            fence = tok.type == "fence" and tok.level == 0 and b == len(lines)
            if fence and (b - 1 == a or not _closes(lines[b - 1], tok.markup)):
                close = lines[a][: len(lines[a]) - len(lines[a].lstrip())] + tok.markup
        elif tok.type in ("paragraph_open", "heading_open", "tr_open"):
            last.update(dict.fromkeys(range(a, b), b - 1))
            if tok.type == "paragraph_open":
                breaks.update(range(a, b - 1))
    out: list[str] = []
    chunk: list[int] = []
    for i in range(len(lines)):
        if i in code:
            out.extend(_prose(lines, chunk, breaks, last))
            chunk = []
            out.append(lines[i])
        else:
            chunk.append(i)
    out.extend(_prose(lines, chunk, breaks, last))
    if close is not None:
        out.append(close)
    return "\n".join(out)


def _closes(line: str, markup: str) -> bool:
    """Whether ``line`` closes a fence opened with ``markup`` (CommonMark: the same
    character, at least as many, indented at most 3 spaces)."""
    s = line.strip()
    indent = len(line) - len(line.lstrip(" "))
    return indent <= 3 and bool(s) and set(s) == {markup[0]} and len(s) >= len(markup)


def _prose(lines: list[str], chunk: list[int], breaks: set[int], last: dict[int, int]) -> list[str]:
    """Consecutive lines outside code blocks: ``<`` escaped outside code spans and
    autolinks, images made links, trailing spaces dropped, paragraph line ends made
    hard breaks. A code span is looked for only within its paragraph, heading or
    table row (``last``), as CommonMark parses it."""
    if not chunk:
        return []
    text = "\n".join(lines[i] for i in chunk)
    ends: list[int] = []  # where each line ends in text
    for ln in (lines[i] for i in chunk):
        ends.append((ends[-1] + 1 if ends else 0) + len(ln))
    out: list[str] = []
    pos, n, line = 0, len(text), 0
    while pos < n:
        c = text[pos]
        if c == "\\" and pos + 1 < n and text[pos + 1] in _PUNCT:
            out.append(text[pos : pos + 2])
            pos += 2
        elif c == "`":
            src = chunk[line]
            stop = ends[min(last.get(src, src) - chunk[0], len(chunk) - 1)]
            end = _code_span_end(text, pos, stop)
            out.append(text[pos:end])
            line += text.count("\n", pos, end)
            pos = end
        elif c == "!" and text.startswith("![", pos):
            out.append("\\!")  # an image becomes a link: an export loads nothing
            pos += 1
        elif c == "<":
            link = _AUTOLINK.match(text, pos)
            if link:
                out.append(link.group())
                pos = link.end()
            else:
                out.append("\\<")
                pos += 1
        elif c == "\n":
            _drop_trailing_spaces(out)
            if chunk[line] in breaks and (pos == 0 or text[pos - 1] != "\\"):
                out.append("\\")
            out.append("\n")
            line += 1
            pos += 1
        else:
            out.append(c)
            pos += 1
    _drop_trailing_spaces(out)
    return "".join(out).split("\n")


def _drop_trailing_spaces(out: list[str]) -> None:
    """Trailing spaces and tabs of the line ``out`` ends with (outside code: a code
    span ends with its backticks)."""
    while out and out[-1] and out[-1][-1] in " \t":
        out[-1] = out[-1].rstrip(" \t")
        if not out[-1]:
            out.pop()


def _code_span_end(text: str, pos: int, stop: int) -> int:
    """Where the code span opening at ``pos`` ends (after its closing backticks), or
    the end of the opening run when no run of the same length closes it before
    ``stop`` (then the backticks are literal)."""
    run_end = pos
    while run_end < len(text) and text[run_end] == "`":
        run_end += 1
    size = run_end - pos
    i = run_end
    while True:
        i = text.find("`", i, stop)
        if i < 0:
            return run_end
        j = i
        while j < len(text) and text[j] == "`":
            j += 1
        if j - i == size:
            return j
        i = j


def fence(text: str, lang: str = "") -> str:
    """A fenced code block longer than any backtick run in ``text``."""
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    mark = "`" * max(3, longest + 1)
    return f"{mark}{lang}\n{text}\n{mark}"


def _who(block: Block) -> str:
    note = f" ({md_literal(block.late)})" if block.late else ""
    return f"**{md_literal(block.label)}:**{note}"


def _tool(block: Block) -> list[str]:
    parts = [block.glyph, block.title, block.args, f"→ {block.result}" if block.result else ""]
    summary = " ".join(p for p in [*parts, f"({block.late})" if block.late else ""] if p)
    out = ["<details>", f"<summary>{html.escape(summary)}</summary>", ""]
    args, is_json = pretty_args(block.arguments or "{}")
    out += ["Arguments:", "", fence(args, "json" if is_json else ""), ""]
    if block.progress:
        out += ["Progress:", "", fence("\n".join(block.progress)), ""]
    if block.output:
        out += ["Output:", "", fence(block.output), ""]
    return [*out, "</details>", ""]


def _quoted(glyph: str, lines: list[str], late: str = "") -> list[str]:
    """A block quote: ``glyph`` and the first line in bold, the others under it."""
    note = f" ({md_literal(late)})" if late else ""
    body = "\\\n".join(md_literal(ln) for ln in lines if ln.strip())
    text = f"{glyph} {body}{note}".strip()
    return ["\n".join(f"> {ln}".rstrip() for ln in text.split("\n")), ""]


def to_markdown(rec: Recording) -> str:
    """The recording as a Markdown transcript (GitHub-flavoured: ``<details>``) of the
    view's blocks (:func:`parley.headless.transcript.fold`)."""
    h = rec.header
    title = escape_controls(f"parley session {h.get('session_id') or ''}".rstrip())
    out = [f"# {md_literal(title)}", ""]
    out += [f"- **{k}:** {md_literal(v)}" for k, v in meta(rec)]
    if rec.truncated:
        out.append("- **Note:** the recording's last line was cut short and is left out")
    out.append("")
    for block in fold(rec.items):
        match block.kind:
            case "user":
                out += [_who(block), "", md_literal(block.body), ""]
            case "agent":
                out += [_who(block), "", md_agent(block.body), ""]
            case "tool":
                out += _tool(block)
            case "handoff" | "ended" | "reload" if block.status != "error":
                line = " ".join(p for p in (block.glyph, block.title) if p)
                out += [f"*{md_literal(line)}*", ""]
                if block.body:
                    out += [md_literal(block.body), ""]
            case "error":
                out += _quoted(block.glyph, list(block.messages), block.late)
            case "turn_end":
                out += _quoted(block.glyph, [f"{block.title} {block.quote}"], block.late)
            case "reload":
                out += _quoted(block.glyph, [block.title, block.body], block.late)
    return "\n".join(out).rstrip("\n") + "\n"
