"""The asciicast export: the headless rendering as an asciicast v2 file
(https://docs.asciinema.org/manual/asciicast/v2/), paced to be read.

What is shown is the text form of ``parley replay --headless``
(:class:`parley.headless.render.TextRenderer`, the view's blocks laid out as text)
with the exports' labels (``labels=True``: a reply is labelled with the agent's id,
an item of a cancelled turn carries the view's note). Every line fits the cast's width
(:data:`WIDTH` columns unless given): a longer line wraps at a space where it can,
and its continuation lines keep the line's indent (under the text after a ``●`` /
``✓`` / ``✗`` / ``…`` glyph), so a wrapped reply stays in its block. ``\\n`` becomes
``\\r\\n`` as a terminal's line discipline would.

Pacing (every duration divided by ``speed``, ``speed`` 0 shows everything at once):
the recorded gaps between items, each capped at ``max_gap`` seconds (the options and
rule of ``parley replay``, :func:`parley.app.session.replay.schedule`); at least
``pause`` seconds before each turn after the first (a session driven by
``start``/``say``/``stop`` has turns ~0.1 s apart); and with ``type_delay`` > 0 the
user's text typed one character every ``type_delay`` seconds.
"""

from __future__ import annotations

import json
import math
import re
import time
import unicodedata
from collections.abc import Iterator
from typing import Any

from parley.app.protocol import items as it
from parley.app.protocol.sanitize import escape_controls
from parley.app.session.eventlog import Recording
from parley.app.session.replay import MAX_GAP
from parley.app.view import GLYPHS, TOOL_GLYPHS
from parley.headless.render import TextRenderer

#: the default width of a cast, in columns: asciinema-player scales a cast to fit
#: the page, so a wider cast means a smaller font
WIDTH = 100
#: the default least pause before a turn, in seconds
PAUSE = 1.0
_SGR = re.compile(r"\x1b\[[0-9;]*m")
#: what starts a line of the text layout, for the hanging indent of its wrapped lines:
#: a block's title bullet, then the view's glyphs (a progress update, an error, a tool's
#: result by its status)
_GLYPHS = tuple(
    f"{g} "
    for g in dict.fromkeys(("●", GLYPHS["progress"], GLYPHS["error"], *TOOL_GLYPHS.values()))
)


def char_width(ch: str) -> int:
    """Columns ``ch`` takes on a terminal: 0 for combining marks and zero-width
    characters, 2 for East Asian wide and fullwidth ones, else 1."""
    if unicodedata.combining(ch) or ch in "\u200b\u200c\u200d\ufe0e\ufe0f":
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(text: str) -> int:
    """Columns ``text`` (one line, SGR colour codes allowed) takes on a terminal."""
    return sum(char_width(c) for c in _SGR.sub("", text))


def wrap_line(line: str, width: int) -> list[str]:
    """``line`` (SGR colour codes allowed) cut into lines of at most ``width``
    columns, at the last space that fits when there is one; continuation lines start
    with the line's hanging indent (its leading spaces, plus 2 after a glyph)."""
    if text_width(line) <= width:
        return [line]
    plain = _SGR.sub("", line)
    body = plain.lstrip(" ")
    hang = len(plain) - len(body) + (2 if body.startswith(_GLYPHS) else 0)
    if hang > width // 2:
        hang = 0
    tokens: list[str] = [t for t in re.split(r"(\x1b\[[0-9;]*m)", line) if t]
    lines: list[str] = []
    cur: list[str] = []  # characters and SGR codes of the line being built
    col = 0
    space = -1  # index in cur of the last breakable space
    for tok in tokens:
        if _SGR.fullmatch(tok):
            cur.append(tok)
            continue
        for ch in tok:
            w = char_width(ch)
            if col + w > width:
                if space > hang and ch != " ":
                    rest = cur[space + 1 :]
                    lines.append("".join(cur[:space]).rstrip(" "))
                else:
                    rest = []
                    lines.append("".join(cur).rstrip(" "))
                cur = [" "] * hang + rest
                col = hang + sum(char_width(c) for c in rest if not _SGR.fullmatch(c))
                space = -1
                if ch == " ":
                    continue
            if ch == " " and col > hang:
                space = len(cur)
            cur.append(ch)
            col += w
    lines.append("".join(cur))
    return lines


def wrap(text: str, width: int) -> str:
    """Every line of ``text`` wrapped by :func:`wrap_line`; tabs become 4 spaces."""
    out = [part for ln in text.replace("\t", "    ").split("\n") for part in wrap_line(ln, width)]
    return "\n".join(out)


#: one piece of output: (gap, least delay, extra delay, text), in seconds before
#: ``speed``; ``gap`` is the recorded time since the previous piece, every item's gap
#: capped at ``max_gap`` as ``replay`` does; the delay before it is
#: ``max(gap, least) + extra``
Frame = tuple[float, float, float, str]


def _frames(
    rec: Recording,
    renderer: TextRenderer,
    *,
    width: int,
    max_gap: float,
    pause: float,
    type_delay: float,
) -> Iterator[Frame]:
    prev: float | None = None
    shown = False
    gap = 0.0
    for item in rec.items:
        if prev is not None and item.ts:
            gap += min(max(0.0, item.ts - prev), max_gap)
        if item.ts:
            prev = item.ts
        text = renderer.render(item)
        if not text:
            continue
        text = wrap(text, width)
        least = pause if isinstance(item, it.UserMessage) and shown else 0.0
        shown = True
        if isinstance(item, it.UserMessage) and type_delay > 0:
            yield from _typed(text, gap, least, type_delay)
        else:
            yield gap, least, 0.0, text
        gap = 0.0


def _typed(text: str, gap: float, least: float, type_delay: float) -> Iterator[Frame]:
    """A user block: its title at once, then its text one character at a time (line
    ends and the indent of each line at once)."""
    lines = text.rstrip("\n").split("\n")
    head = next((i for i, ln in enumerate(lines) if "●" in ln), 0)
    yield gap, least, 0.0, "\n".join(lines[: head + 1]) + "\n"
    for ln in lines[head + 1 :]:
        indent = len(ln) - len(ln.lstrip(" "))
        if indent:
            yield 0.0, 0.0, 0.0, ln[:indent]
        for ch in ln[indent:]:
            yield 0.0, 0.0, type_delay, ch
        yield 0.0, 0.0, 0.0, "\n"


def to_cast(
    rec: Recording,
    *,
    color: bool = True,
    speed: float = 1.0,
    max_gap: float = MAX_GAP,
    pause: float = PAUSE,
    type_delay: float = 0.0,
    width: int = WIDTH,
    height: int = 30,
) -> str:
    """The recording as asciicast v2 (see the module docstring): a header line, then
    ``[t, "o", text]`` events with non-decreasing ``t`` (seconds, from 0). Raises
    ``ValueError`` for a negative ``speed``, ``max_gap``, ``pause`` or ``type_delay``,
    or a ``width`` under 20 columns."""
    for name, value in (("speed", speed), ("max_gap", max_gap), ("pause", pause)):
        if value < 0 or math.isnan(value):
            raise ValueError(f"{name} must be >= 0")
    if type_delay < 0 or math.isnan(type_delay):
        raise ValueError("type_delay must be >= 0")
    if width < 20:
        raise ValueError("width must be at least 20 columns")
    renderer = TextRenderer(color=color, labels=True)
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
    longest = max(max_gap, pause)
    if speed > 0 and math.isfinite(longest):
        header["idle_time_limit"] = round(longest / speed, 6)
    lines = [json.dumps(header, ensure_ascii=False)]
    t = 0.0
    frames = _frames(
        rec, renderer, width=width, max_gap=max_gap, pause=pause, type_delay=type_delay
    )
    for gap, least, extra, text in frames:
        if speed > 0:
            t += (max(gap, least) + extra) / speed
        out = text.replace("\r\n", "\n").replace("\n", "\r\n")
        lines.append(json.dumps([round(t, 6), "o", out], ensure_ascii=False))
    return "\n".join(lines) + "\n"
