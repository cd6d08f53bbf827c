"""The event log: a session's chat items as JSON lines, which is also its recording.

Layout of ``events.jsonl``: the first line is a header object
``{"type": "session", "schema": 1, "parley_version", "session_id", "project",
"agent_file", "agent_id", "started_at"}`` (``started_at`` in Unix seconds); every
following line is one chat item in the JSON form of :mod:`parley.app.protocol.items`. Lines are
flushed as they are written, so a crash loses at most the line being written, and
:func:`read_log` skips a truncated last line.

Standard library only (on the ``parley history`` path).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from parley.app.errors import ParleyError
from parley.app.protocol import items as it
from parley.app.protocol.shapes import SessionHeader, session_header

EVENTS_FILE = "events.jsonl"


def parley_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("parley")
    except PackageNotFoundError:
        return "0+unknown"


class LogFormatError(ParleyError, ValueError):
    """The file is not a parley event log this version can read."""


@dataclass
class Recording:
    """A parsed event log: its header and its items in order. ``truncated`` is
    true when a partial last line (a crash mid-write) was skipped."""

    header: SessionHeader
    items: list[it.ChatItem]
    truncated: bool = False


class EventLog:
    """Appends items to ``path`` (created 0600), one flushed line each."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._f: IO[str] = os.fdopen(fd, "w", encoding="utf-8")
        head = {"type": "session", "schema": it.SCHEMA_VERSION, **header}
        self._write(json.dumps(head, ensure_ascii=False))

    def append(self, item: it.ChatItem) -> None:
        self._write(item.to_json())

    def _write(self, line: str) -> None:
        if self._f.closed:
            return
        self._f.write(line + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def read_log(path: Path | str) -> Recording:
    """Parse an event log.

    Raises :class:`LogFormatError` when the file is missing, has no session header,
    or was written with a newer schema than this parley reads; ``OSError`` passes
    through. A malformed *last* line is skipped (``truncated=True``); a malformed line
    elsewhere raises.
    """
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise LogFormatError(f"no event log at {path}") from None
    lines = text.split("\n")
    # a complete file ends with "\n", leaving one empty string last
    complete, last = lines[:-1], lines[-1]
    if not complete:
        raise LogFormatError(f"{path} has no session header (empty or truncated)")
    try:
        header = session_header(json.loads(complete[0]))
    except ValueError:
        raise LogFormatError(f"{path} is not a parley event log (bad header)") from None
    if header is None:
        raise LogFormatError(f"{path} is not a parley event log (no session header)")
    schema = header.get("schema")
    if not isinstance(schema, int) or schema > it.SCHEMA_VERSION:
        raise LogFormatError(
            f"{path} was written with event log schema {schema!r}; this parley reads "
            f"schema {it.SCHEMA_VERSION} and older: upgrade parley"
        )
    items: list[it.ChatItem] = []
    body = [ln for ln in complete[1:] if ln.strip()]
    truncated = bool(last.strip())
    for n, line in enumerate(body):
        try:
            items.append(it.item_from_json(line))
        except it.ItemFormatError as e:
            if n == len(body) - 1 and not truncated:
                truncated = True  # crash mid-write of the final line
                break
            raise LogFormatError(f"{path}: line {n + 2}: {e}") from None
    if last.strip():
        try:  # the last line may be whole but lack its newline
            items.append(it.item_from_json(last))
            truncated = False
        except it.ItemFormatError:
            pass
    return Recording(header, items, truncated)


def read_header(path: Path | str) -> SessionHeader | None:
    """The header line of the event log at ``path`` (only that line is read), or ``None``
    when the file cannot be read or does not start with a session header."""
    try:
        with open(path, encoding="utf-8") as f:
            return session_header(json.loads(f.readline()))
    except (OSError, ValueError):
        return None
