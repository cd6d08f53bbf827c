"""Exporting a recording: Markdown, JSON lines, a standalone HTML page, an asciicast.

Every format is built from :class:`parley.app.session.eventlog.Recording` (header + items):

- ``md``: a transcript (:mod:`parley.headless.export_md`); tool calls are
  ``<details>`` blocks with their arguments and output, handoffs and errors are one
  line each.
- ``json``: the event log's lines exactly as stored (a truncated last line dropped).
- ``html``: one page with inline CSS and no external asset
  (:mod:`parley.headless.export_html`).
- ``cast``: an asciicast v2 file of the headless rendering, paced to be read
  (:mod:`parley.headless.cast`).

What each shows, and how it is labelled, is decided once in
:mod:`parley.headless.transcript`. Agent state, usage and config updates are left out
of ``md``/``html``/``cast``, as in the text renderer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from parley.app.protocol import items as it
from parley.app.session.eventlog import Recording
from parley.headless.cast import to_cast
from parley.headless.export_html import to_html
from parley.headless.export_md import to_markdown
from parley.headless.transcript import pretty_args, transcript

__all__ = [
    "FORMATS",
    "SUFFIXES",
    "export",
    "items_json",
    "pretty_args",
    "to_cast",
    "to_html",
    "to_jsonl",
    "to_markdown",
    "transcript",
]

FORMATS = ("md", "json", "html", "cast")
SUFFIXES = {".md": "md", ".markdown": "md", ".json": "json", ".jsonl": "json"}
SUFFIXES |= {".html": "html", ".htm": "html", ".cast": "cast"}


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


def export(rec: Recording, fmt: str, path: Path | str, *, color: bool = True, **cast: Any) -> str:
    """``rec`` (read from ``path``) in format ``fmt`` (one of :data:`FORMATS`).
    ``cast`` keywords (``speed``, ``max_gap``, ``pause``, ``type_delay``, ``width``)
    go to :func:`parley.headless.cast.to_cast` and are ignored by the other formats.
    Raises ``ValueError`` for an unknown format or a bad cast option."""
    if fmt == "md":
        return to_markdown(rec)
    if fmt == "json":
        return to_jsonl(path, rec)
    if fmt == "html":
        return to_html(rec)
    if fmt == "cast":
        return to_cast(rec, color=color, **cast)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
