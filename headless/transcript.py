"""What every export shows of a recording: the view's blocks and the header rows.

The Markdown, HTML and asciicast exports render the blocks of the one view of the
item stream (:class:`parley.app.view.View`: what is shown, labels, glyphs, caps, the
late items of cancelled turns) and only style them. What is left here is about the
recording as a file:

- :func:`meta`: the header rows; the agent file is shown relative to the project
  (an absolute path would put the recording user's home directory into a shared
  export); ``--format json`` keeps the header as stored;
- :func:`clock`: when a block's item arrived, relative to the session start.

Standard library and :mod:`parley.app` only.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

from parley.app.protocol import items as it
from parley.app.protocol.sanitize import escape_controls
from parley.app.protocol.shapes import SessionHeader
from parley.app.session.eventlog import Recording
from parley.app.view import Block, View


def fold(items: Iterable[it.ChatItem]) -> list[Block]:
    """The view's blocks of ``items`` once all of them are folded in (a tool call is
    one block with its final status), in the order they appeared."""
    view = View()
    for item in items:
        view.feed(item)
    return list(view.blocks.values())


def transcript(items: Iterable[it.ChatItem]) -> list[it.ChatItem]:
    """The items the exports show, one per block (a tool call's newest update), in
    order; their text has control characters escaped (the view escapes them)."""
    return [block.item for block in fold(items)]


def clock(rec: Recording) -> Callable[[Block], float | None]:
    """A function giving the seconds from the session start to a block's first item
    (its ``seq``), or ``None`` when either time is unknown."""
    start = rec.header.get("started_at")
    times = {i.seq: i.ts for i in rec.items if i.ts}

    def seconds(block: Block) -> float | None:
        ts = times.get(block.seq) or block.item.ts
        if not isinstance(start, (int, float)) or not start or not ts:
            return None
        return ts - start

    return seconds


def pretty_args(arguments: str) -> tuple[str, bool]:
    """Tool ``arguments`` (the model's JSON text) indented when it is JSON, and
    whether it was (the raw text otherwise). The chat UI's tool pane uses it too."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False), True
    except ValueError:
        return arguments, False


def relative_time(seconds: float | None) -> str:
    """Seconds since the session started as ``m:ss`` (``h:mm:ss`` past an hour)."""
    if seconds is None:
        return ""
    s = max(0, int(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def shown_agent_file(header: SessionHeader) -> str:
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
