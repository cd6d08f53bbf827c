"""Make the SVG screenshots of the chat UI that README.md shows (docs/*.svg).

Every state is built from the recorded demo session
(testdata/recordings/demo-session.jsonl), with spinners and the cursor frozen, as
the snapshot tests build them (tests/test_tui_snapshots.py), so the pictures match
what the tests check. No agent runs.

Run:  .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from parley.app.backend import ItemsBackend
from parley.app.protocol import items as it
from parley.app.session.eventlog import read_log
from parley.app.session.replay import ReplayBackend
from parley.widgets.app import ParleyApp, make_app
from parley.widgets.rows import ToolRow

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RECORDING = ROOT / "testdata" / "recordings" / "demo-session.jsonl"
WIDE, NARROW = (140, 45), (80, 24)


class DeadAgent(ItemsBackend):
    """A live-looking session whose agent is gone."""

    is_replay = False

    async def agent_alive(self) -> bool:
        return False


async def wait_for(pilot: Any, predicate: Callable[[], Any]) -> None:
    for _ in range(400):
        if predicate():
            return
        await pilot.pause(0.05)
    raise TimeoutError(str(predicate))


async def settle(pilot: Any) -> None:
    for _ in range(10):
        await pilot.pause()
    pilot.app.transcript.vertical_scrollbar.refresh()
    await pilot.pause()


def recorded() -> ParleyApp:
    return make_app(ItemsBackend.from_log(RECORDING, agent_log=None), title="demo.py", frozen=True)


def ended() -> ParleyApp:
    items = read_log(RECORDING).items
    seq, ts = items[-1].seq, items[-1].ts
    more: list[it.ChatItem] = [
        it.UserMessage(text="bye", turn_id="t10"),
        it.ToolCall(
            call_id="call_end",
            name="end_call",
            arguments="{}",
            turn_id="t10",
            status="done",
            output="say goodbye to the user",
            duration_ms=0.4,
            agent_id="concierge",
        ),  # fmt: skip
        it.AgentMessage(
            text="Goodbye, and have a great trip!", turn_id="t10", agent_id="concierge"
        ),  # fmt: skip
        it.TurnFinished(status="ok", turn_id="t10", duration_ms=21.0),
        it.AgentError(message="the agent closed the connection (it ended the call or stopped)"),
    ]
    tail = [dataclasses.replace(i, seq=seq + n, ts=ts + n / 100) for n, i in enumerate(more, 1)]
    return make_app(DeadAgent([*items, *tail]), title="demo.py", frozen=True)


def crashed(log: Path) -> ParleyApp:
    items = read_log(RECORDING).items
    died = it.AgentError(message="the agent exited with code -9", seq=items[-1].seq + 1,
                         ts=items[-1].ts + 1)  # fmt: skip
    log.write_text("INFO livekit.agents starting worker\nKilled\n")
    return make_app(DeadAgent([*items, died], agent_log=log), title="demo.py", frozen=True)


def replay() -> ParleyApp:
    rec = read_log(RECORDING)
    backend = ReplayBackend(rec.items, speed=0, header=rec.header)
    return make_app(backend, title="REPLAY 20261122-142015-cd4857 (instant)", frozen=True)


async def loaded(pilot: Any) -> None:
    await wait_for(pilot, lambda: pilot.app.loaded.is_set())
    await settle(pilot)


async def tool_detail(pilot: Any) -> None:
    await loaded(pilot)
    row = next(r for r in pilot.app.query(ToolRow) if r.item.name == "slow_search")
    row.post_message(ToolRow.Selected(row.item.call_id))
    await settle(pilot)


async def banner(pilot: Any) -> None:
    await loaded(pilot)
    await wait_for(pilot, lambda: pilot.app.banner.display)
    await settle(pilot)


async def finished(pilot: Any) -> None:
    await wait_for(pilot, lambda: pilot.app.replay_finished)
    await settle(pilot)


async def shoot(
    name: str, app: ParleyApp, size: tuple[int, int], ready: Callable[[Any], Awaitable[None]]
) -> None:
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        app.save_screenshot(filename=f"{name}.svg", path=str(DOCS))
    print(f"docs/{name}.svg", file=sys.stderr)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await shoot("chat", recorded(), WIDE, loaded)
        await shoot("tool-detail-narrow", recorded(), NARROW, tool_detail)
        await shoot("end-of-call", ended(), WIDE, banner)
        await shoot("crash", crashed(Path(tmp) / "agent.log"), WIDE, banner)
        await shoot("replay-narrow", replay(), NARROW, finished)


if __name__ == "__main__":
    asyncio.run(main())
