"""Following a log file (``parley logs -f``, the UI's agent log pane, ``say --logs``),
run by hand (not part of the test suite):

    .venv/bin/python bench/bench_log_follow.py [--lines 50] [--idle 5] [--step MS]

Measures :func:`parley.app.agent.logfollow.follow` on a temporary file:

- latency from a line's write to its delivery, median and p95 of ``--lines`` lines
  written 100 ms apart (each is its own batch);
- CPU time the process spends per second while following a file nobody writes
  (``--idle`` seconds): the cost of ``watchfiles``' wait loop (it sleeps ``step`` ms
  between looks at its change set).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from parley.app.agent import logfollow
from parley.app.agent.logfollow import LogReader, follow


async def measure(lines: int, idle: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "agent.log"
        path.write_bytes(b"")
        reader = LogReader(path)
        stop, ready = asyncio.Event(), asyncio.Event()
        arrived: asyncio.Queue[float] = asyncio.Queue()

        def on_lines(batch: list[str]) -> None:
            for _ in batch:
                arrived.put_nowait(time.perf_counter())

        task = asyncio.create_task(follow(reader, on_lines, stop, ready=ready))
        await ready.wait()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(idle)
        cpu_per_s = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
        latencies = []
        with open(path, "ab", buffering=0) as f:
            for n in range(lines):
                t0 = time.perf_counter()
                f.write(b"line %d\n" % n)
                latencies.append((await arrived.get()) - t0)
                await asyncio.sleep(0.1)
        stop.set()
        await task
        reader.close()
    ms = sorted(x * 1000 for x in latencies)
    print(f"step {logfollow.STEP_MS} ms; {lines} lines")
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"latency: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms")
    print(f"idle: {cpu_per_s * 1000:.2f} ms CPU per second")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=50)
    ap.add_argument("--idle", type=float, default=5.0)
    ap.add_argument("--step", type=int, default=logfollow.STEP_MS, help="watchfiles' step, ms")
    args = ap.parse_args()
    logfollow.STEP_MS = args.step
    asyncio.run(measure(args.lines, args.idle))


if __name__ == "__main__":
    main()
