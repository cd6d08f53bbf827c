"""Recorded sessions on disk: ``<data>/sessions/<session_id>/events.jsonl``.

Every session's event log is its recording (see :mod:`app.eventlog`). Standard
library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.eventlog import EVENTS_FILE
from app.state import data_root


@dataclass(frozen=True)
class SessionRecord:
    """One recorded session: its directory and its log's header line."""

    path: Path
    header: dict[str, Any]

    @property
    def session_id(self) -> str:
        return self.path.name

    @property
    def event_log(self) -> Path:
        return self.path / EVENTS_FILE

    @property
    def agent_log(self) -> Path:
        return self.path / "agent.log"


def _header(path: Path) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            head = json.loads(f.readline())
    except (OSError, ValueError):
        return None
    return head if isinstance(head, dict) and head.get("type") == "session" else None


def list_sessions() -> list[SessionRecord]:
    """Every recorded session with a readable header, oldest first (by start time)."""
    out = []
    for d in (data_root() / "sessions").glob("*"):
        head = _header(d / EVENTS_FILE)
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
