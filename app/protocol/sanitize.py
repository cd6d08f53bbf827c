"""Untrusted text made safe for a terminal: control characters shown, never obeyed.

Agent, tool, model and user text, and lines of the agent's log, are data. Printed raw, a
control character acts on the terminal: ``ESC]0;…`` sets the window title, ``ESC[2J``
clears the screen, ``ESC]52;…`` writes the clipboard, ``\\r`` overwrites a line. Every
place that shows such text to a person (the text renderer, the chat UI, exports, error
messages) passes it through :func:`escape_controls` first; ``--json`` output keeps the
exact text (JSON escapes it). parley's own colour codes are added after escaping, so
they are unaffected.

Standard library only (on the ``parley say`` path).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, TypeVar

#: C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F: some
#: terminals read U+009B as CSI)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

T = TypeVar("T")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character other than ``\\n`` and ``\\t`` written as
    a visible escape (``\\x1b``, ``\\x07``, …); a ``\\r\\n`` line end becomes ``\\n``.
    Text without control characters is returned as is."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(_escape, text.replace("\r\n", "\n"))


def has_controls(text: str) -> bool:
    """Whether :func:`escape_controls` would change ``text`` (beyond a line end)."""
    return _CONTROL.search(text) is not None


def escape_fields(obj: T) -> T:
    """A copy of the dataclass ``obj`` (e.g. a chat item) whose string fields, and
    strings in list fields, went through :func:`escape_controls`; ``obj`` itself when
    none needed it. Other fields (numbers, dicts such as metrics) are kept."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return obj
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if isinstance(value, str) and has_controls(value):
            changes[f.name] = escape_controls(value)
        elif isinstance(value, list) and any(isinstance(v, str) and has_controls(v) for v in value):
            changes[f.name] = [escape_controls(v) if isinstance(v, str) else v for v in value]
    return dataclasses.replace(obj, **changes) if changes else obj
