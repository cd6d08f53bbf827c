"""Benchmark: a long session in the chat UI.

Loads a recorded session stretched to N chat items (default 2,000: the demo recording
in testdata/recordings repeated, with seq, turn ids and call ids renumbered) into the
app through the same backend protocol the CLI uses, headless at 120x40, and reports:

- time to first paint: from starting the app to the whole session shown (last row
  mounted, screen refreshed); target < 1 s
- time for a new item to appear at the bottom: push one agent message (and, in a
  second series, a tool call) and wait until its row is mounted and painted; target:
  p99 < 33 ms (two frames at 60 Hz) over both series. Reported as p50 / p99 / max of
  the wall time, and of this process's CPU time over the same span (the wall time
  of a loaded machine, shared with other work, is mostly waiting for a core)
- memory: RSS growth of this process across the load, and the mounted widget count

The app is built as the CLI builds it (``make_app(..., freeze_gc=True)``).

Run:  .venv/bin/python bench/bench_tui.py [--items 2000] [--new 100] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

from parley.app.protocol import items as it
from parley.app.session.eventlog import read_log

ROOT = Path(__file__).resolve().parent.parent

RECORDING = ROOT / "testdata/recordings/demo-session.jsonl"


def long_session(n: int, recording: Path = RECORDING) -> list[it.ChatItem]:
    """``n`` items: the recording's items repeated, renumbered so that seq is
    monotonic and turn ids / call ids stay unique per copy."""
    base = read_log(recording).items
    out: list[it.ChatItem] = []
    copy = 0
    t0 = base[0].ts
    span = base[-1].ts - t0 + 1.0
    while len(out) < n:
        for item in base:
            if len(out) >= n:
                break
            changes: dict[str, object] = {
                "seq": len(out) + 1,
                "ts": item.ts + copy * span,
                "turn_id": f"{item.turn_id}-{copy}" if item.turn_id else None,
            }
            if isinstance(item, it.ToolCall):
                changes["call_id"] = f"{item.call_id}-{copy}"
            out.append(dataclasses.replace(item, **changes))  # type: ignore[arg-type]
        copy += 1
    return out


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank) of ``values``, rounded to 0.1."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 1e6


async def wait_until(cond, timeout: float = 30.0, step: float = 0.001) -> None:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while not cond():
        if time.perf_counter() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(step)


async def run(n_items: int, n_new: int) -> dict[str, object]:
    from parley.app.backend import ItemsBackend
    from parley.widgets.app import make_app
    from parley.widgets.rows import Row

    items = long_session(n_items)
    backend = ItemsBackend(items)
    rss0 = rss_mb()
    t0 = time.perf_counter()
    app = make_app(backend, frozen=True, freeze_gc=True)
    paints: list[float] = []
    display = app._display

    def painting(screen, renderable):  # type: ignore[no-untyped-def]
        # headless Textual computes the screen update but writes nothing: render the
        # update to terminal text here too, so the cost of a real paint is counted
        display(screen, renderable)
        if renderable is not None:
            from textual._compositor import CompositorUpdate

            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            paints.append(time.perf_counter())

    app._display = painting  # type: ignore[method-assign]

    async def painted_after(t: float) -> float:
        await wait_until(lambda: bool(paints) and paints[-1] > t)
        return paints[-1]

    async with app.run_test(size=(120, 40)):
        await asyncio.wait_for(app.loaded.wait(), 30)
        first_paint = await painted_after(time.perf_counter()) - t0
        rss1 = rss_mb()
        mounted = len(app.transcript.rows)
        widgets = len(list(app.screen.walk_children()))

        cpu_ms: list[float] = []

        async def appear(item: it.ChatItem) -> float:
            start, cpu0 = time.perf_counter(), time.process_time()
            backend.push(item)

            def shown() -> bool:
                rows = app.transcript.rows
                return bool(rows) and rows[-1].item is item

            await wait_until(shown)
            wall = (await painted_after(time.perf_counter()) - start) * 1000
            cpu_ms.append((time.process_time() - cpu0) * 1000)
            return wall

        seq = items[-1].seq
        ts = items[-1].ts
        msg_ms, tool_ms = [], []
        for i in range(n_new):
            seq += 1
            text = f"New reply number {i}: the **weather** is fine."
            msg_ms.append(await appear(it.AgentMessage(seq=seq, ts=ts + i, text=text,
                                                       agent_id="concierge")))  # fmt: skip
            seq += 1
            call = it.ToolCall(seq=seq, ts=ts + i, call_id=f"bench-{i}", name="lookup_weather",
                               arguments='{"location": "Paris"}', status="done",
                               output="sunny", duration_ms=1.0)  # fmt: skip
            tool_ms.append(await appear(call))
        mounted_after = len(app.query(Row))
    both = msg_ms + tool_ms
    return {
        "items": n_items,
        "first_paint_s": round(first_paint, 3),
        "append_ms_p50": pct(both, 50),
        "append_ms_p99": pct(both, 99),
        "append_ms_max": round(max(both), 1),
        "append_cpu_ms_p50": pct(cpu_ms, 50),
        "append_cpu_ms_p99": pct(cpu_ms, 99),
        "append_cpu_ms_max": round(max(cpu_ms), 1),
        "new_message_ms_p50": pct(msg_ms, 50),
        "new_message_ms_p99": pct(msg_ms, 99),
        "new_tool_call_ms_p50": pct(tool_ms, 50),
        "new_tool_call_ms_p99": pct(tool_ms, 99),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "rss_growth_mb": round(rss1 - rss0, 1),
        "rows_mounted": mounted,
        "rows_mounted_after_new_items": mounted_after,
        "widgets_on_screen": widgets,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--new", type=int, default=100, help="new items to time (of each kind)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()
    result = asyncio.run(run(args.items, args.new))
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:32} {v}")
    ok = (
        float(result["first_paint_s"]) < 1.0  # type: ignore[arg-type]
        and float(result["append_ms_p99"]) < 33  # type: ignore[arg-type]
    )
    print("targets (first paint < 1 s, append p99 < 33 ms):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
