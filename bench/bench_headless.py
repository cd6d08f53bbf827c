"""Headless benchmarks, run by hand (not part of the test suite):

    .venv/bin/python bench/bench_headless.py [--runs 20]

Measures, against the real echo agent (testdata/agents/echo.py):

- ``parley say`` wall time, median of N runs (target < 150 ms);
- the daemon's own turn time: ``turn_finished.duration_ms`` of those turns (from
  sending ``run_input`` to the end of the turn), median;
- ``parley start`` time beyond the agent's own boot: start's wall time minus the
  daemon-measured spawn-to-connect time ``agent_boot_ms`` (target < 300 ms);
- the daemon's resident memory after the runs (target < 60 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
ECHO = ROOT / "testdata" / "agents" / "echo.py"
PARLEY = [str(Path(sys.executable).with_name("parley"))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PARLEY_HOME": home, "NO_COLOR": "1"}

        def run(*a: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*PARLEY, *a], cwd=ROOT, env=env, capture_output=True, text=True, check=True
            )

        t0 = time.perf_counter()
        run("start", str(ECHO))
        start_ms = (time.perf_counter() - t0) * 1000
        try:
            status = json.loads(run("status", "--json").stdout)
            boot_ms = status["agent_boot_ms"]
            run("say", "warm up")
            times = []
            for i in range(args.runs):
                t0 = time.perf_counter()
                out = run("say", f"hello {i}")
                times.append((time.perf_counter() - t0) * 1000)
                assert f"echo: hello {i}" in out.stdout
            rss_mb = psutil.Process(status["daemon_pid"]).memory_info().rss / 2**20
            hist = [json.loads(line) for line in run("history", "--json").stdout.splitlines()]
            turn_ms = [
                o["duration_ms"]
                for o in hist
                if o["type"] == "turn_finished" and o["turn_id"] != "t1"  # not the warm-up
            ]
        finally:
            run("stop")
    print(
        f"say wall time: median {statistics.median(times):.1f} ms over {args.runs} runs "
        f"(min {min(times):.1f}, max {max(times):.1f}); target < 150 ms"
    )
    print(
        f"daemon turn time: median {statistics.median(turn_ms):.1f} ms "
        f"(min {min(turn_ms):.1f}, max {max(turn_ms):.1f})"
    )
    print(
        f"start: {start_ms:.0f} ms total, agent boot {boot_ms:.0f} ms, "
        f"parley's own share {start_ms - boot_ms:.0f} ms; target < 300 ms"
    )
    print(f"daemon resident memory: {rss_mb:.1f} MB; target < 60 MB")


if __name__ == "__main__":
    main()
