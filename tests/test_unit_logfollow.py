"""Following a log file (``parley logs -f``, the chat UI's agent log pane): the lines a
file gains arrive as the file changes (watchfiles, no timer), also when the file is
truncated, replaced by a rotation, or deleted and created again; stopping reads once more.

Every wait here is for a condition (the next batch of lines); the generous timeouts only
turn a hang into a failure."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parley.app.agent.logfollow import LogReader, follow
from parley.app.agent.procwait import pid_exited
from parley.app.daemon.ops import _TurnLogSender
from parley.app.protocol import items as it
from parley.app.session.session import Turn

HANG = 60  # s: a test that waits longer than this is stuck, not slow


class Follower:
    """:func:`follow` running on ``path`` in a task; ``lines`` gets each batch."""

    def __init__(self, reader: LogReader) -> None:
        self.reader = reader
        self.batches: asyncio.Queue[list[str]] = asyncio.Queue()
        self.stop = asyncio.Event()
        self.ready = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(
            follow(self.reader, self.batches.put_nowait, self.stop, ready=self.ready)
        )
        await asyncio.wait_for(self.ready.wait(), HANG)

    async def lines(self, count: int) -> list[str]:
        """The next ``count`` lines (however they were batched)."""
        out: list[str] = []
        while len(out) < count:
            out += await asyncio.wait_for(self.batches.get(), HANG)
        assert len(out) == count, out
        return out


@pytest.fixture
async def log(tmp_path: Path) -> AsyncIterator[tuple[Path, Follower]]:
    path = tmp_path / "agent.log"
    path.write_bytes(b"\r00:00:01 INFO old line\n")
    reader = LogReader(path)  # from the end, as `logs -f` after its tail
    f = Follower(reader)
    await f.start()
    yield path, f
    f.stop.set()
    assert f.task is not None
    await asyncio.wait_for(f.task, HANG)
    reader.close()


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


async def test_appended_lines_arrive_split_as_the_log_splits_them(
    log: tuple[Path, Follower],
) -> None:
    path, f = log
    append(path, b"\r00:00:02 INFO first\n")
    assert await f.lines(1) == ["00:00:02 INFO first"]
    # a write ending between LiveKit's "\n" and "\r", and a line written in two parts
    append(path, b"\r00:00:03 INFO second\n")
    assert await f.lines(1) == ["00:00:03 INFO second"]
    append(path, b"\r00:00:04 INFO thi")
    append(path, b"rd\n")
    assert await f.lines(1) == ["00:00:04 INFO third"]
    assert f.batches.empty()


async def test_a_truncated_log_is_read_again_from_its_start(log: tuple[Path, Follower]) -> None:
    path, f = log
    append(path, b"one\ntwo\n")
    assert await f.lines(2) == ["one", "two"]
    path.write_bytes(b"new\n")  # truncated to 0, then written: shorter than before
    assert await f.lines(1) == ["new"]


async def test_a_replaced_log_is_read_from_its_start(log: tuple[Path, Follower]) -> None:
    path, f = log
    # a new file longer than the old one: reading it from the old offset would show
    # its middle
    new = path.with_name("agent.log.new")
    new.write_bytes(b"".join(b"line %d of the new log\n" % i for i in range(20)))
    os.replace(new, path)
    lines = await f.lines(20)
    assert lines == [f"line {i} of the new log" for i in range(20)]


async def test_a_rotated_log_ends_before_the_new_one_starts(log: tuple[Path, Follower]) -> None:
    path, f = log
    with open(path, "ab") as writer:  # the agent's handle, kept across the rotation
        path.rename(path.with_name("agent.log.1"))
        writer.write(b"last line of the old log\nunfinished")
        writer.flush()
        path.write_bytes(b"first line of the new log\n")
    lines = await f.lines(3)
    assert lines == ["last line of the old log", "unfinished", "first line of the new log"]


async def test_a_deleted_log_is_followed_once_created_again(log: tuple[Path, Follower]) -> None:
    path, f = log
    append(path, b"before\n")
    assert await f.lines(1) == ["before"]
    path.unlink()
    path.write_bytes(b"after\n")
    assert await f.lines(1) == ["after"]


async def test_stop_reads_what_came_last(tmp_path: Path) -> None:
    path = tmp_path / "agent.log"
    path.write_bytes(b"")
    f = Follower(LogReader(path))
    await f.start()
    append(path, b"the agent's last words\n")
    f.stop.set()  # before the change may have been seen
    assert f.task is not None
    await asyncio.wait_for(f.task, HANG)
    assert await f.lines(1) == ["the agent's last words"]


def test_open_tail_reads_the_last_lines_then_reads_on_from_the_end(tmp_path: Path) -> None:
    path = tmp_path / "agent.log"
    path.write_bytes(b"".join(b"line %d\n" % i for i in range(100)))
    reader = LogReader(path)
    tail = reader.open_tail(30)
    assert tail == ["line 97", "line 98", "line 99"]  # the cut first line dropped
    assert reader.read() == []
    append(path, b"line 100\n")
    assert reader.read() == ["line 100"]
    reader.close()
    missing = LogReader(tmp_path / "later.log")
    assert missing.open_tail(30) == []
    (tmp_path / "later.log").write_bytes(b"from the start\n")
    assert missing.read() == ["from the start"]
    missing.close()


async def test_pid_exited_waits_for_the_process(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)  # fmt: skip
    try:
        waiting = asyncio.create_task(pid_exited(proc.pid))
        for _ in range(3):  # its first steps: the pidfd is awaited, not yet readable
            await asyncio.sleep(0)
        assert not waiting.done()  # it runs until its stdin closes
        assert proc.stdin is not None
        proc.stdin.close()
        await asyncio.wait_for(waiting, HANG)  # exited, not yet reaped: a zombie counts
    finally:
        proc.kill()
        proc.wait()


class FakeWriter:
    """A control connection's writer: the JSON lines the daemon sends, as they come."""

    def __init__(self) -> None:
        self.sent: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self._buf = b""

    def write(self, data: bytes) -> None:
        self._buf += data

    async def drain(self) -> None:
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            self.sent.put_nowait(json.loads(line))

    async def next(self) -> dict[str, object]:
        return await asyncio.wait_for(self.sent.get(), HANG)


async def test_say_logs_sends_each_log_line_while_no_item_comes(tmp_path: Path) -> None:
    """``say --logs``: a line the agent logs mid-turn is sent on its own, while the
    turn's next item has not come (the daemon watches the log; it read it every
    0.1 s before)."""
    path = tmp_path / "agent.log"
    path.write_bytes(b"\r00:00:00 INFO before the turn\n")
    loop = asyncio.get_running_loop()
    turn = Turn("t1", "hi", loop.create_future(), log_start=path.stat().st_size)
    writer = FakeWriter()
    sender = _TurnLogSender(writer, turn, path, logs=True)  # type: ignore[arg-type]
    q: asyncio.Queue[it.ChatItem | None] = asyncio.Queue()
    q.put_nowait(it.UserMessage(seq=1, ts=0.0, turn_id="t1", text="hi"))
    try:
        item = await sender.next_item(q)
        assert isinstance(item, it.UserMessage)
        await sender.before(item)
        await sender.after(item)  # the turn is shown: its log lines go out from now on
        waiting = asyncio.create_task(sender.next_item(q))
        append(path, b"\r00:00:01 INFO looking it up\n")
        msg = await writer.next()
        assert msg == {
            "event": "log",
            "turn_id": "t1",
            "lines": ["00:00:01 INFO looking it up"],
            "failure": False,
        }
        append(path, b"\r00:00:02 INFO still looking\n")
        assert (await writer.next())["lines"] == ["00:00:02 INFO still looking"]
        assert not waiting.done()  # no item came: the lines came on their own
        done = it.TurnFinished(seq=2, ts=0.0, turn_id="t1", status="ok")
        q.put_nowait(done)
        assert await asyncio.wait_for(waiting, HANG) is done
    finally:
        sender.close()
