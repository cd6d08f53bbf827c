"""Make the SVG screenshots of the chat UI that README.md shows (docs/*.svg).

Every picture is a state the snapshot tests check (tests/test_tui_snapshots.py), built by
the same code (tests/tui_states.py): the recorded demo session
(testdata/recordings/demo-session.jsonl), spinners and cursor frozen. No agent runs.

Run:  .venv/bin/python docs/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WIDE, NARROW = (140, 45), (80, 24)

sys.path.insert(0, str(ROOT / "tests"))

import tui_states as ui  # noqa: E402  (tests/ on the path first)

from parley.widgets.app import ParleyApp  # noqa: E402


async def shoot(
    name: str, app: ParleyApp, size: tuple[int, int], ready: Callable[[Any], Awaitable[None]]
) -> None:
    async with app.run_test(size=size) as pilot:
        await ready(pilot)
        app.save_screenshot(filename=f"{name}.svg", path=str(DOCS))
    print(f"docs/{name}.svg", file=sys.stderr)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await shoot("chat", ui.recorded_app(title="demo.py"), WIDE, ui.loaded)
        await shoot(
            "tool-detail-narrow", ui.recorded_app(title="demo.py"), NARROW, ui.slow_search_detail
        )
        await shoot("end-of-call", ui.ended_app(), WIDE, ui.banner_shown)
        await shoot("crash", ui.crashed_app(Path(tmp)), WIDE, ui.banner_shown)
        await shoot("replay-narrow", ui.replay_app(), NARROW, ui.replay_finished)


if __name__ == "__main__":
    asyncio.run(main())
