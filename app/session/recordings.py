"""Recorded sessions on disk: ``<data>/sessions/<session_id>/events.jsonl``.

Every session's event log is its recording (see :mod:`parley.app.session.eventlog`): a header line
``{"type": "session", "schema", "parley_version", "session_id", "project",
"agent_file", "agent_id", "started_at"}`` followed by one chat item per line.
Commands name a recording by session id (or a unique prefix of one), by the path of
an ``events.jsonl`` file or of a session directory, or not at all (the newest
session of the current project). Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.app.errors import ParleyError
from parley.app.home import data_root
from parley.app.protocol.shapes import SessionHeader
from parley.app.session.eventlog import EVENTS_FILE, read_header


@dataclass(frozen=True)
class SessionRecord:
    """One recorded session: its directory and its log's header line.

    ``log`` is set for a recording that lives outside the data directory (a file
    given by path, e.g. ``testdata/recordings/rec_demo.jsonl``); ``path`` is then
    the file's directory.
    """

    path: Path
    header: SessionHeader
    log: Path | None = None

    @property
    def session_id(self) -> str:
        if self.log is not None:
            return str(self.header.get("session_id") or self.log.stem)
        return self.path.name

    @property
    def event_log(self) -> Path:
        return self.log if self.log is not None else self.path / EVENTS_FILE

    @property
    def agent_log(self) -> Path:
        return self.path / "agent.log"


@dataclass(frozen=True)
class SessionSummary:
    """What ``parley sessions`` shows for one recording.

    ``turns`` counts user messages (a turn cut short by a crash still counts),
    ``items`` every chat item, ``size`` is the event log's size in bytes;
    ``turns``/``items`` are ``None`` when the log cannot be read by this version.
    """

    record: SessionRecord
    turns: int | None
    items: int | None
    size: int

    def to_dict(self) -> dict[str, Any]:
        h = self.record.header
        return {
            "id": self.record.session_id,
            "project": h.get("project"),
            "agent_file": h.get("agent_file"),
            "agent_id": h.get("agent_id"),
            "started_at": h.get("started_at"),
            "turns": self.turns,
            "items": self.items,
            "size": self.size,
            "schema": h.get("schema"),
            "parley_version": h.get("parley_version"),
            "path": str(self.record.event_log),
        }


class RecordingNotFound(ParleyError, LookupError):
    """No recording matches what the user named (the message says why)."""


def list_sessions() -> list[SessionRecord]:
    """Every recorded session with a readable header, oldest first (by start time)."""
    out = []
    for d in (data_root() / "sessions").glob("*"):
        head = read_header(d / EVENTS_FILE)
        if head is not None:
            out.append(SessionRecord(d, head))
    out.sort(key=lambda r: (r.header.get("started_at") or 0, r.session_id))
    return out


def latest_for(cwd: Path) -> SessionRecord | None:
    """The newest session whose project is ``cwd`` or one of its parents."""
    cwd = cwd.resolve()
    places = {str(cwd), *map(str, cwd.parents)}
    for rec in reversed(list_sessions()):
        if rec.header.get("project") in places:
            return rec
    return None


def summarize(rec: SessionRecord) -> SessionSummary:
    """Count the turns and items of ``rec`` (reads the whole log; a malformed line
    is not counted, a log of a newer schema gives ``None`` counts)."""
    path = rec.event_log
    try:
        size = path.stat().st_size
    except OSError:
        return SessionSummary(rec, None, None, 0)
    schema = rec.header.get("schema")
    from parley.app.protocol.items import SCHEMA_VERSION

    if not isinstance(schema, int) or schema > SCHEMA_VERSION:
        return SessionSummary(rec, None, None, size)
    turns = items = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        f.readline()
        for line in f:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                items += 1
                turns += obj.get("type") == "user_message"
    return SessionSummary(rec, turns, items, size)


def resolve(ref: str | None, cwd: Path) -> SessionRecord:
    """The recording named by ``ref``.

    ``ref`` is a path to an event log file or to a session directory holding one,
    a session id, or a unique prefix of a session id; ``None`` means the newest
    session of the project containing ``cwd``. Raises :class:`RecordingNotFound`
    with a message fit for the user.
    """
    if ref is None:
        rec = latest_for(cwd)
        if rec is None:
            raise RecordingNotFound(
                f"no recorded session for {cwd.resolve()}; see `parley sessions` or "
                "name a session id or an events.jsonl file"
            )
        return rec
    path = Path(ref).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if path.is_file():
        return _from_file(path.resolve())
    if path.is_dir() and (path / EVENTS_FILE).is_file():
        return _from_file((path / EVENTS_FILE).resolve())
    sessions = list_sessions()
    exact = [r for r in sessions if r.session_id == ref]
    if exact:
        return exact[-1]
    matches = [r for r in sessions if r.session_id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        ids = ", ".join(r.session_id for r in matches[-5:])
        raise RecordingNotFound(f"{ref!r} matches {len(matches)} sessions ({ids}); be more exact")
    raise RecordingNotFound(
        f"no recorded session or file {ref!r}; `parley sessions` lists the recorded ones"
    )


def _from_file(path: Path) -> SessionRecord:
    head = read_header(path) or {}
    sessions = data_root() / "sessions"
    if path.name == EVENTS_FILE and path.parent.parent == sessions.resolve():
        return SessionRecord(path.parent, head)
    return SessionRecord(path.parent, head, log=path)


def recorded_agent_log(event_log: Path | str) -> Path | None:
    """The agent log kept with the recording at ``event_log``
    (:attr:`SessionRecord.agent_log`), or ``None`` when there is none."""
    path = Path(event_log)
    log = SessionRecord(path.parent, {}, log=path).agent_log
    return log if log.exists() else None


def human_size(n: int) -> str:
    """``n`` bytes as ``812 B``, ``4.2 KB``, ``1.3 MB`` (powers of 1024)."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # unreachable
