"""Watch-mode reload benchmark, run by hand (not part of the test suite):

    .venv/bin/python bench/bench_reload.py [--edits 10] [--cold 3]

On a copy of the demo agent (app/demo/agent.py) in a fresh project, in one run:

- **cold start**: the wall time of ``parley start demo.py`` (daemon, agent boot, text
  mode, greeting), median of ``--cold`` runs;
- **reload**: ``parley start --watch``, then ``--edits`` edits of the agent file (a
  tool's output changes each time). For each: from the file's save (``time.time()``
  just before the write) to the new agent connected in text mode (the ``reload``
  item's ``ts``, stamped when the new agent answered ``get_agent_info``); median.
  Each edit waits until the spare interpreter is ready (idle, blocked on stdin) as a
  developer's next save would find it, and checks the next turn answers with the
  edit.

Target: reload median <= 40% of the cold-start median.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psutil

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "app" / "demo"
PARLEY = [str(Path(sys.executable).with_name("parley"))]
MARKER = "two nights at the Harbor Hotel"
T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T | None], timeout: float = 120.0, interval: float = 0.02
) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise SystemExit(f"timed out waiting for {predicate}")


def spare_ready(daemon_pid: int, agent_pid: int) -> bool:
    """The daemon's spare interpreter (not the agent a spare became) exists and is
    idle (done importing, blocked reading stdin): its CPU time does not move for
    0.3 s."""
    try:
        procs = [
            p
            for p in psutil.Process(daemon_pid).children(recursive=True)
            if p.pid != agent_pid and "-c" in p.cmdline() and "runpy" in " ".join(p.cmdline())
        ]
    except psutil.Error:
        return False
    if not procs:
        return False
    p = procs[0]
    try:
        before = sum(p.cpu_times()[:2])
        time.sleep(0.3)
        return sum(p.cpu_times()[:2]) == before
    except psutil.Error:
        return False


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--edits", type=int, default=10)
    ap.add_argument("--cold", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "proj"
        project.mkdir()
        (project / "pyproject.toml").write_text('[project]\nname = "bench"\n')
        # the demo imports its scripted model from the package; the copy is the agent alone
        shutil.copy(DEMO / "agent.py", project / "demo.py")
        agent = project / "demo.py"
        env = {**os.environ, "PARLEY_HOME": str(Path(tmp) / "home"), "NO_COLOR": "1"}

        def run(*a: str, check: bool = True) -> subprocess.CompletedProcess[str]:
            proc = subprocess.run(
                [*PARLEY, *a], cwd=project, env=env, capture_output=True, text=True, timeout=180
            )
            if check and proc.returncode:
                raise SystemExit(f"parley {' '.join(a)} failed:\n{proc.stdout}{proc.stderr}")
            return proc

        cold = []
        for _ in range(args.cold):
            t0 = time.perf_counter()
            run("start", str(agent))
            cold.append((time.perf_counter() - t0) * 1000)
            run("stop")
        run("start", "--watch", str(agent))
        try:

            def status() -> dict:
                return json.loads(run("status", "--json").stdout)

            daemon_pid = status()["daemon_pid"]
            saves, reported, warm = [], [], []
            text = agent.read_text()
            for n in range(args.edits):
                agent_pid = status()["agent_pid"]
                wait_for(lambda: spare_ready(daemon_pid, agent_pid))  # noqa: B023
                seen = len(reloads(run))
                new_text = text.replace(MARKER, f"{n + 2} nights at the Harbor Hotel")
                t_save = time.time()
                agent.write_text(new_text)
                items = wait_for(
                    lambda: r if len(r := reloads(run)) > seen else None,  # noqa: B023
                    interval=0.05,
                )
                item = items[-1]
                if item["error"]:
                    raise SystemExit(f"reload failed: {item['error']}")
                saves.append((item["ts"] - t_save) * 1000)
                reported.append(item["duration_ms"])
                warm.append(item["warm"])
                reply = run("say", "look up booking ABC123").stdout
                assert f"{n + 2} nights" in reply, reply
        finally:
            run("stop", check=False)
    cold_med = statistics.median(cold)
    save_med = statistics.median(saves)
    print(f"cold parley start:        median {cold_med:7.0f} ms  ({args.cold} runs)")
    print(f"reload, save->connected:  median {save_med:7.0f} ms  ({args.edits} edits)")
    print(f"  of which change seen->connected: median {statistics.median(reported):.0f} ms")
    print(f"  warm (spare used): {sum(warm)} of {len(warm)}")
    print(f"reload / cold start:      {save_med / cold_med:.0%}  (target <= 40%)")
    print("all reload runs (ms):", ", ".join(f"{x:.0f}" for x in saves))


def reloads(run: Callable[..., subprocess.CompletedProcess[str]]) -> list[dict[str, Any]]:
    lines = run("events", "--json").stdout.splitlines()
    return [o for o in map(json.loads, lines) if o["type"] == "reload"]


if __name__ == "__main__":
    main()
