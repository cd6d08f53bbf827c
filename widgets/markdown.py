"""Agent text as Markdown, rendered to one :class:`~textual.content.Content`.

Textual's ``Markdown`` widget mounts a widget per block, which makes a long
transcript slow; the transcript draws this Content instead (one widget for the whole
transcript). It covers what agents write: paragraphs, headings, emphasis, inline code,
code blocks, lists, block quotes, rules, links; anything else (tables, HTML) is shown
as its source lines. The text is never parsed as Textual or Rich markup, and styles
are theme variables.
"""

from __future__ import annotations

from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from textual.content import Content

_MD = MarkdownIt("commonmark").enable("strikethrough").enable("table")

INLINE_STYLE = {
    "strong": "bold",
    "em": "italic",
    "s": "strike",
    "link": "underline $text-primary",
}
CODE_STYLE = "$text-accent"
HEADING_STYLE = {"h1": "bold underline $text-primary", "h2": "bold $text-primary"}
QUOTE_STYLE = "italic $text-muted"


def markdown_content(source: str) -> Content:
    """``source`` rendered as Markdown (see the module docstring)."""
    try:
        tokens = _MD.parse(source)
    except Exception:  # markdown-it never should, but text must always show
        return Content(source)
    return Content("\n").join(_Blocks(source.splitlines()).render(tokens))


def inline_content(children: list[Token] | None, base: str = "") -> Content:
    """An inline token run (emphasis, code, links, breaks) as Content."""
    parts: list[Content] = []
    styles: list[str] = [base] if base else []
    for tok in children or []:
        kind = tok.type
        if kind == "text":
            parts.append(Content.styled(tok.content, " ".join(styles)))
        elif kind == "code_inline":
            parts.append(Content.styled(tok.content, " ".join([*styles, CODE_STYLE])))
        elif kind in ("softbreak", "hardbreak"):  # keep the agent's line breaks
            parts.append(Content("\n"))
        elif kind.endswith("_open") and kind[:-5] in INLINE_STYLE:
            styles.append(INLINE_STYLE[kind[:-5]])
        elif kind.endswith("_close") and kind[:-6] in INLINE_STYLE:
            if styles:
                styles.pop()
        elif kind == "image":
            parts.append(Content.styled(f"[image: {tok.content}]", "italic"))
        else:  # html_inline and anything unknown: the source text
            parts.append(Content(tok.content))
    return Content("").join(parts)


class _Blocks:
    """Walks block tokens into lines, with list markers and quote bars as prefixes."""

    def __init__(self, source_lines: list[str]) -> None:
        self.source = source_lines
        self.lines: list[Content] = []
        self.lists: list[list[Any]] = []  # [ordered, next number]
        self.quote = 0
        self.marker: str | None = None  # list marker for the next line emitted

    def render(self, tokens: list[Token]) -> list[Content]:
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            kind = tok.type
            if kind in ("paragraph_open", "heading_open"):
                inline = tokens[i + 1]
                style = HEADING_STYLE.get(tok.tag, "bold") if kind == "heading_open" else ""
                self._block(inline_content(inline.children, style))
                i += 3
                continue
            if kind in ("bullet_list_open", "ordered_list_open"):
                if self.lines and not self.lists:
                    self.lines.append(Content(""))
                start = tok.attrGet("start")
                self.lists.append([kind == "ordered_list_open", int(start or 1)])
            elif kind in ("bullet_list_close", "ordered_list_close"):
                self.lists.pop()
            elif kind == "list_item_open":
                ordered, number = self.lists[-1]
                self.marker = f"{number}. " if ordered else "• "
                self.lists[-1][1] += 1
            elif kind == "blockquote_open":
                self.quote += 1
            elif kind == "blockquote_close":
                self.quote -= 1
            elif kind in ("fence", "code_block"):
                code = tok.content.rstrip("\n")
                self._block(Content.styled(code, CODE_STYLE), raw=True)
            elif kind == "hr":
                self._block(Content.styled("─" * 24, "$text-muted"))
            elif kind == "table_open" or kind == "html_block":
                close = "table_close" if kind == "table_open" else None
                self._source_block(tok)
                if close:
                    while i < len(tokens) and tokens[i].type != close:
                        i += 1
            i += 1
        return self.lines

    def _source_block(self, tok: Token) -> None:
        if tok.map:
            text = "\n".join(self.source[tok.map[0] : tok.map[1]])
        else:
            text = tok.content
        self._block(Content(text.rstrip("\n")), raw=True)

    def _block(self, content: Content, raw: bool = False) -> None:
        if self.lines and not self.lists and self.lines[-1].plain:
            self.lines.append(Content(""))
        depth = len(self.lists)
        indent = "  " * max(0, depth - 1)
        bar = Content.styled("▌ " * self.quote, QUOTE_STYLE) if self.quote else Content("")
        body_lines = content.split("\n") if raw or "\n" in content.plain else [content]
        for n, line in enumerate(body_lines):
            if self.marker is not None and n == 0:
                prefix = Content(indent + self.marker)
                self.marker = None
            else:
                prefix = Content(indent + ("   " if depth else ""))
            if self.quote:
                line = line.stylize(QUOTE_STYLE)
            self.lines.append(Content.assemble(bar, prefix, line))
