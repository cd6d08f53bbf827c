"""`parley attach` semantics in the UI: the attached app and headless `say` share one
session (the real daemon and the real demo agent)."""

from __future__ import annotations

import asyncio

import pytest
from conftest import ROOT, parley_exe
from test_tui_support import (
    SIZE,
    after_user,
    demo_daemon,  # noqa: F401  (fixture)
    module_home,  # noqa: F401  (fixture)
    started,
    wait_until,
)

from parley.app.backend import DaemonBackend
from parley.widgets.app import make_app

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("demo_daemon")]


async def headless_say(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *parley_exe(),
        "say",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_an_item_from_a_headless_say_appears_in_the_attached_ui() -> None:
    app = make_app(DaemonBackend(None, cwd=ROOT, attach_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        say = await headless_say("what's the weather in Lisbon?")
        out, _ = await say.communicate()
        assert say.returncode == 0
        assert "The weather in Lisbon is sunny" in out.decode()
        reply = await wait_until(
            pilot,
            lambda: [
                r for r in after_user(app, "what's the weather in Lisbon?") if r.kind == "agent"
            ],  # fmt: skip
            what="the headless turn's reply in the UI",
        )
        assert reply[0].item.text.startswith("The weather in Lisbon is sunny")
        tools = [r for r in after_user(app, "what's the weather in Lisbon?") if r.kind == "tool"]
        assert tools and tools[0].block.title == "lookup_weather"


async def test_escape_in_the_attached_ui_cancels_a_turn_started_by_a_headless_say() -> None:
    app = make_app(DaemonBackend(None, cwd=ROOT, attach_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        say = await headless_say("slow 3")
        await wait_until(
            pilot,
            lambda: [
                r
                for r in after_user(app, "slow 3")
                if r.kind == "tool" and r.block.status == "running"
            ],  # fmt: skip
            what="the headless turn's tool running in the UI",
        )
        assert not app.busy  # not this window's turn, yet Esc reaches it
        await pilot.press("escape")
        await wait_until(
            pilot,
            lambda: [
                r
                for r in after_user(app, "slow 3")
                if r.kind == "turn_end" and r.block.status == "cancelled"
            ],  # fmt: skip
            what="turn cancelled row",
        )
        out, _ = await asyncio.wait_for(say.communicate(), 15)
        assert say.returncode == 130
        assert "turn cancelled" in out.decode()
        # let the agent finish the cancelled tool so the module's daemon is idle again
        await wait_until(
            pilot,
            lambda: any(
                r.kind == "tool" and r.block.title == "slow_search" and not r.block.running
                for r in after_user(app, "slow 3")
            ),
            timeout=15,
        )
