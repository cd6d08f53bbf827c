"""Replaying a recording in the chat UI (Textual pilot), and the paced replay backend.

The recording is ``testdata/recordings/rec_demo.jsonl``, a real session of the demo
agent (see tests/test_recordings_unit.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from parley.app.backend import BackendError, ChatBackend, ReplayBackend
from parley.app.protocol import items as it
from parley.app.session.eventlog import read_log
from parley.headless.export import FORMATS, export, to_markdown, transcript
from parley.widgets.app import make_app

DEMO = Path(__file__).resolve().parent.parent / "testdata" / "recordings" / "rec_demo.jsonl"


async def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)


def _key(item: it.ChatItem) -> tuple[str, str]:
    match item:
        case it.UserMessage(text=t) | it.AgentMessage(text=t):
            return item.type, t
        case it.ToolCall(call_id=c, status=s):
            return item.type, f"{c}:{s}"
        case it.Handoff(from_agent=f, to_agent=to):
            return item.type, f"{f}->{to}"
    return item.type, str(item.seq)


async def test_replay_in_the_ui_shows_every_item() -> None:
    rec = read_log(DEMO)
    backend = ReplayBackend(rec.items, speed=0, header=rec.header)
    assert isinstance(backend, ChatBackend)
    app = make_app(backend, title="REPLAY demo", frozen=True)
    async with app.run_test(size=(140, 60)) as pilot:
        await wait_for(lambda: backend.done.is_set() and app.items_seen == len(rec.items))
        await pilot.pause()
        shown = app.transcript.items
        assert [_key(i) for i in shown] == [_key(i) for i in transcript(rec.items)]
        text = "\n".join(e.plain for e in app.transcript.shown)
        for item in rec.items:
            if isinstance(item, (it.UserMessage, it.AgentMessage)):
                assert item.text in text
        calls = {i.call_id for i in rec.items if isinstance(i, it.ToolCall)}
        assert len(calls) == 6 and len([e for e in app.transcript.shown if e.block]) == len(shown)
        assert app.agents.info["id"] == "concierge"  # billing, then back to the concierge
        assert app.sub_title == "REPLAY demo" and app.backend.is_replay
        await pilot.press("h", "i", "enter")  # a replay takes no turns
        await pilot.pause()
        assert len(app.transcript.items) == len(shown)
        assert not app.stream_ended  # the finished replay stays on screen


async def test_the_ui_markdown_export_is_parley_export_md(tmp_path: Path) -> None:
    rec = read_log(DEMO)
    backend = ReplayBackend.from_log(DEMO, speed=0)
    app = make_app(backend, frozen=True, export_dir=tmp_path)
    async with app.run_test(size=(140, 60)) as pilot:
        await wait_for(lambda: backend.done.is_set() and app.items_seen == len(rec.items))
        await pilot.pause()
        paths = {fmt: await app.action_export(fmt) for fmt in FORMATS}
    # the same files as `parley export --format FMT`, one naming scheme
    sid = rec.header["session_id"]
    written: dict[str, Path] = {}
    for fmt, path in paths.items():
        assert path is not None and path.parent == tmp_path
        assert path.name.startswith(f"parley-{sid}-")
        assert path.read_text(encoding="utf-8") == export(rec, fmt, DEMO, color=True), fmt
        written[fmt] = path
    assert written["md"].read_text(encoding="utf-8") == to_markdown(rec)
    assert written["json"].read_text(encoding="utf-8") == DEMO.read_text(encoding="utf-8")


async def test_replay_in_the_ui_is_paced() -> None:
    items = [
        it.UserMessage(seq=1, ts=100.0, turn_id="t1", text="first"),
        it.AgentMessage(seq=2, ts=100.1, turn_id="t1", text="reply one"),
        it.UserMessage(seq=3, ts=101.0, turn_id="t2", text="second"),
        it.AgentMessage(seq=4, ts=101.1, turn_id="t2", text="reply two"),
    ]
    backend = ReplayBackend(items, speed=2)  # 1.1 s recorded -> 0.55 s
    app = make_app(backend, frozen=True)
    # timed from before the app (and so the replay) starts: the last item cannot be on
    # screen sooner than its offset, however slow the start is (a bound that holds under
    # load; an instant replay fails it whenever the start is quicker than 0.55 s)
    t0 = time.monotonic()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(lambda: len(app.transcript.items) == 4)
        elapsed = time.monotonic() - t0
        assert elapsed >= 0.55, elapsed  # paced, not instant
        await pilot.pause()
        assert [e.plain.splitlines()[-1] for e in app.transcript.shown if e.block] == [
            "first",
            "reply one",
            "second",
            "reply two",
        ]


async def test_replay_backend_paces_resumes_and_refuses_turns() -> None:
    items = [it.AgentMessage(seq=n, ts=10.0 + n * 0.2, text=f"m{n}") for n in range(1, 5)]
    backend = ReplayBackend(items, speed=1, header={"agent_id": "concierge"})
    assert (await backend.start())["id"] == "concierge"
    got: list[tuple[float, int]] = []
    t0 = time.monotonic()
    stream = backend.follow()
    async for item in stream:
        got.append((time.monotonic() - t0, item.seq))
        if item.seq == 2:
            break
    await stream.aclose()
    async for item in backend.follow():  # resumes after m2, paced from now
        got.append((time.monotonic() - t0, item.seq))
        if item.seq == 4:
            break
    assert [s for _, s in got] == [1, 2, 3, 4]
    # paced (the offsets themselves are schedule()'s, tested on their own), and the
    # resumed stream keeps m3's 0.2 s gap from the moment it resumed
    assert got[1][0] >= 0.15 and got[3][0] - got[1][0] >= 0.35
    with pytest.raises(BackendError, match="cannot take new turns"):
        await backend.say("hello")
    with pytest.raises(BackendError):
        await backend.restart()
