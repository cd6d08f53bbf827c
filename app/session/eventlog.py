"""The event log: a session's chat items as JSON lines, which is also its recording.

Layout of ``events.jsonl``: the first line is a header object
``{"type": "session", "schema": 1, "parley_version", "session_id", "project",
"agent_file", "agent_id", "started_at"}`` (``started_at`` in Unix seconds); every
following line is one chat item in the JSON form of :mod:`parley.app.protocol.items`.
Lines are written (one ``write``) as they arrive, so a crash loses at most the line
being written, and :func:`read_log` skips a truncated last line. Lines that cannot be
written (a full disk) wait in memory, up to a cap, and are written, in order, once they
can; items past the cap are lost, and an ``agent_error`` item of kind
``event_log_gap`` in their place says which (:class:`EventLog`).

Standard library only (on the ``parley history`` path).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from parley.app.errors import ParleyError
from parley.app.protocol import items as it
from parley.app.protocol.shapes import SessionHeader, session_header

EVENTS_FILE = "events.jsonl"
#: lines an event log keeps in memory while it cannot write (a full disk)...
MAX_WAITING_LINES = 10_000
#: ...and their bytes; past either, new items are lost until the log can write again
MAX_WAITING_BYTES = 4 << 20
#: ``AgentError.kind`` of the item that stands for items the event log lost
GAP_KIND = "event_log_gap"


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
    """Appends items to ``path`` (created 0600), one line each, written at once.

    A write that fails (a full disk: ``ENOSPC``; a quota or size limit: ``EDQUOT``,
    ``EFBIG``) never raises: the lines not yet written are kept in memory, in order,
    and written by the next :meth:`append` or :meth:`retry` that can, so the log
    resumes when space returns with every item, in order, and no line cut. While
    lines wait, :attr:`error` says why (``None`` when all is written) and
    :attr:`waiting` how many lines wait.

    Memory is bounded: while :attr:`max_lines` lines (or :attr:`max_bytes` bytes)
    wait, a new item is not kept but lost (counted in :attr:`lost`). Once the lines
    that wait are written, one ``agent_error`` item of kind :data:`GAP_KIND` takes the
    place of the lost ones: the ``seq`` and ``ts`` of the first, and a message naming
    how many were lost, their ``seq`` range and why; the items after it follow.
    """

    def __init__(self, path: Path, header: SessionHeader) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._pending = bytearray()
        self._line_ends: list[int] = []  # offsets in _pending just past each line
        #: why the last write failed, while lines wait to be written
        self.error: str | None = None
        self.max_lines = MAX_WAITING_LINES
        self.max_bytes = MAX_WAITING_BYTES
        #: items lost so far (not kept in memory: over the cap), this log's lifetime
        self.lost = 0
        # the items lost since the log last wrote everything: first, last, how many, why
        self._gap_first: it.ChatItem | None = None
        self._gap_last: it.ChatItem | None = None
        self._gap_count = 0
        self._gap_error = ""
        head: SessionHeader = {"type": "session", "schema": it.SCHEMA_VERSION, **header}
        self._write(json.dumps(head, ensure_ascii=False))

    @property
    def waiting(self) -> int:
        """Lines kept in memory until they can be written."""
        return len(self._line_ends)

    def append(self, item: it.ChatItem) -> bool:
        """Write one item's line (after any that wait); whether everything is written.
        Past the cap the item is lost instead (the gap is recorded once the log can
        write again)."""
        line = item.to_json()
        if self._gap_first is not None or self._over_cap(line):
            self.retry()  # space may be back: then the gap is recorded and closed
            if self._gap_first is not None or self._over_cap(line):
                self._lose(item)
                return False
        return self._write(line)

    def _over_cap(self, line: str) -> bool:
        return bool(self._pending) and (
            len(self._line_ends) >= self.max_lines
            or len(self._pending) + len(line) + 1 > self.max_bytes
        )

    def _lose(self, item: it.ChatItem) -> None:
        if self._gap_first is None:
            self._gap_first, self._gap_error = item, self.error or "cannot write"
        self._gap_last = item
        self._gap_count += 1
        self.lost += 1

    def _gap_line(self) -> str:
        first, last = self._gap_first, self._gap_last
        assert first is not None and last is not None
        n = self._gap_count
        span = (
            f"1 item (seq {first.seq})" if n == 1 else f"{n} items (seq {first.seq} to {last.seq})"
        )
        return it.AgentError(
            seq=first.seq,
            ts=first.ts,
            kind=GAP_KIND,
            message=(
                f"parley could not record {span} in this event log: {self._gap_error}, "
                f"with {self.max_lines:,} lines (or {self.max_bytes / (1 << 20):g} MiB) "
                "already waiting in memory"
            ),
        ).to_json()

    def _write(self, line: str) -> bool:
        if self._fd is None:
            return False
        self._pending += (line + "\n").encode("utf-8")
        self._line_ends.append(len(self._pending))
        return self.retry()

    def retry(self) -> bool:
        """Write the lines that wait, then the record of a gap if items were lost;
        whether none is left."""
        while self._fd is not None:
            if not self._pending and self._gap_first is not None:
                self._pending += (self._gap_line() + "\n").encode("utf-8")
                self._line_ends.append(len(self._pending))
                self._gap_first = self._gap_last = None
                self._gap_count = 0
            if not self._pending:
                break
            try:
                n = os.write(self._fd, self._pending)
            except InterruptedError:
                continue
            except OSError as e:
                self.error = f"cannot write {self.path}: {e.strerror or e}"
                return False
            del self._pending[:n]
            done = 0
            while done < len(self._line_ends) and self._line_ends[done] <= n:
                done += 1
            self._line_ends = [end - n for end in self._line_ends[done:]]
        if not self._pending:
            self.error = None
        return not self._pending

    def close(self) -> None:
        """Write what waits (if it can) and close the file."""
        if self._fd is None:
            return
        self.retry()
        os.close(self._fd)
        self._fd = None


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
