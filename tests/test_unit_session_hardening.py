"""The event log survives failed writes (a full disk) without losing or cutting a
line, and a subscription costs the backlog it shows, not the session."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import pytest

from parley.app.agent.launcher import AgentSpec
from parley.app.daemon.config import DaemonConfig
from parley.app.daemon.server import Daemon
from parley.app.protocol import items as it
from parley.app.session import eventlog
from parley.app.session.eventlog import EventLog, read_log
from parley.app.session.session import Session


class FlakyDisk:
    """``os.write`` that fails with ENOSPC while ``full``, and writes at most
    ``chunk`` bytes per call (short writes happen)."""

    def __init__(self, chunk: int = 1 << 30) -> None:
        self.full = False
        self.chunk = chunk
        self.real = os.write

    def __call__(self, fd: int, data: bytes) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.real(fd, bytes(data[: self.chunk]))


@pytest.mark.parametrize("chunk", [1 << 30, 7])
def test_failed_writes_wait_in_memory_and_land_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    disk = FlakyDisk(chunk)
    monkeypatch.setattr(eventlog.os, "write", disk)
    path = tmp_path / "events.jsonl"
    log = EventLog(path, {"session_id": "s"})
    items = [it.UserMessage(text=f"m{n}", seq=n, ts=float(n)) for n in range(1, 9)]
    assert log.append(items[0]) and log.error is None
    disk.full = True
    for item in items[1:5]:
        assert not log.append(item)  # never raises
    assert log.waiting == 4 and "No space left on device" in (log.error or "")
    assert [i.seq for i in read_log(path).items] == [1]
    assert not log.retry()
    disk.full = False  # space returns
    assert log.append(items[5])
    assert log.error is None and log.waiting == 0
    for item in items[6:]:
        log.append(item)
    log.close()
    assert read_log(path).items == items  # every item, in order, no line cut
    assert all(json.loads(line) for line in path.read_text().splitlines())


def test_a_log_that_stays_full_keeps_its_lines_until_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = FlakyDisk()
    monkeypatch.setattr(eventlog.os, "write", disk)
    log = EventLog(tmp_path / "events.jsonl", {})
    disk.full = True
    log.append(it.AgentError(message="x", seq=1))
    log.close()  # does not raise either
    assert log.waiting == 1


@pytest.mark.parametrize("cap", ["lines", "bytes"])
def test_past_the_cap_items_are_lost_and_the_gap_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: str
) -> None:
    disk = FlakyDisk()
    monkeypatch.setattr(eventlog.os, "write", disk)
    assert (eventlog.MAX_WAITING_LINES, eventlog.MAX_WAITING_BYTES) == (10_000, 4 << 20)
    path = tmp_path / "events.jsonl"
    log = EventLog(path, {"session_id": "s"})
    items = [it.UserMessage(text=f"m{n:02}", seq=n, ts=float(n)) for n in range(1, 16)]
    if cap == "lines":
        log.max_lines = 3
    else:  # room for three lines, not four
        log.max_bytes = 3 * (len(items[0].to_json()) + 1) + 10
    log.append(items[0])
    disk.full = True
    for item in items[1:9]:
        assert not log.append(item)
    assert log.waiting == 3  # seq 2-4 wait; 5-9 are lost: memory stays bounded
    assert log.lost == 5 and "No space left on device" in (log.error or "")
    disk.full = False  # space returns: the periodic retry writes what waited, then the gap
    assert log.retry() and log.error is None and log.waiting == 0
    disk.full = True  # full again: a second gap, closed by the next append
    for item in items[9:14]:
        log.append(item)
    assert log.lost == 7
    disk.full = False
    assert log.append(items[14])
    log.close()
    written = read_log(path).items
    gaps = [i for i in written if isinstance(i, it.AgentError)]
    assert [i.seq for i in written] == [1, 2, 3, 4, 5, 10, 11, 12, 13, 15]
    assert [g.seq for g in gaps] == [5, 13] and [g.ts for g in gaps] == [5.0, 13.0]
    assert all(g.kind == eventlog.GAP_KIND for g in gaps)
    assert "could not record 5 items (seq 5 to 9) in this event log: cannot write" in (
        gaps[0].message
    )
    assert "No space left on device" in gaps[0].message
    assert "could not record 2 items (seq 13 to 14)" in gaps[1].message
    assert [i for i in written if i not in gaps] == [items[n] for n in (0, 1, 2, 3, 9, 10, 11, 14)]


def _session(tmp_path: Path) -> Session:
    spec = AgentSpec(tmp_path / "agent.py", tmp_path, ["python"])
    return Session(spec, session_id="s", data_dir=tmp_path)


async def test_a_subscription_starts_after_its_seq_in_a_long_session(tmp_path: Path) -> None:
    session = _session(tmp_path)
    for n in range(1, 20_001):
        session._on_item(it.AgentMessage(text=str(n), seq=n, turn_id=f"t{n // 10}"))
    q = session.subscribe(since=19_997)
    copied = [q.get_nowait() for _ in range(q.qsize())]
    assert [i.seq if i is not None else None for i in copied] == [19_998, 19_999, 20_000]
    session.unsubscribe(q)
    q = session.subscribe(since=20_000)  # nothing to copy
    assert q.empty()
    q = session.subscribe()
    assert q.qsize() == 20_000


class Looked(it.AgentMessage):
    """A chat item that records that some code looked at it (read any of its fields)."""

    looked: ClassVar[set[int]] = set()

    def __getattribute__(self, name: str) -> Any:
        if not name.startswith("__"):
            Looked.looked.add(object.__getattribute__(self, "seq"))
        return super().__getattribute__(name)


def _say_subscription_work(tmp_path: Path, turns: int, unseen: int) -> tuple[int, list[int]]:
    """Subscribe as a ``say`` does in a session of ``turns`` turns (3 items each) whose
    last ``unseen`` items no client was shown: how many items of the session were
    looked at, and the seqs of the backlog. The live queue must start empty and get
    the next item."""
    session = _session(tmp_path / str(turns))
    for n in range(1, 3 * turns + 1):
        session._on_item(Looked(text=str(n), seq=n, turn_id=f"t{(n - 1) // 3}"))
    daemon = Daemon(
        DaemonConfig(key="k", name=None, project=str(tmp_path), agent_file="", runtime=[])
    )
    daemon.session = session
    daemon.seen.mark_all(session.items[: len(session.items) - unseen])
    Looked.looked.clear()
    backlog, q = daemon._subscribe_new()
    work = len(Looked.looked)
    assert q.empty()  # nothing of the session is copied into it
    new = it.AgentMessage(text="next", seq=3 * turns + 1, turn_id="t-next")
    session._on_item(new)
    assert q.get_nowait() is new
    session.unsubscribe(q)
    return work, [i.seq for i in backlog]


@pytest.mark.parametrize("unseen", [0, 2])
async def test_a_say_subscription_costs_the_same_at_turn_4000_as_at_turn_100(
    tmp_path: Path, unseen: int
) -> None:
    """Issue 9 item 10: each ``say`` looked through (bisected, or copied) the
    session's items, so its cost grew with the session. The items it looks at are now
    the unseen ones and the last seen one, at any length (a count of work, not a time)."""
    early, backlog_early = _say_subscription_work(tmp_path, 100, unseen)
    late, backlog_late = _say_subscription_work(tmp_path, 4_000, unseen)
    assert backlog_early == list(range(300 - unseen + 1, 301))
    assert backlog_late == list(range(12_000 - unseen + 1, 12_001))
    assert early == late == unseen + 1


async def test_the_turn_count_is_kept_as_items_come(tmp_path: Path) -> None:
    """``status`` and ``stop`` report the turns run from a count, not a scan of the
    session's items."""
    session = _session(tmp_path)
    for n in range(1, 7):
        item: it.ChatItem = (
            it.TurnFinished(status="ok", seq=n, turn_id=f"t{n}")
            if n % 2 == 0
            else it.UserMessage(text="hi", seq=n, turn_id=f"t{n + 1}")
        )
        session._on_item(item)
    assert session.turns_finished == 3
