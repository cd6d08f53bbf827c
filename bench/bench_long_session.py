"""Per-turn cost over a long session, run by hand (not part of the test suite):

    .venv/bin/python bench/bench_long_session.py [--turns 4000] [--window 100]

Against the real echo agent (testdata/agents/echo.py), sends ``--turns`` turns one
after the other through the control channel (the ``say`` op that ``parley say`` uses,
from this process, so no interpreter start-up is measured) and compares the turns
around turn 100 with the last ones:

- the daemon's CPU time per turn (``psutil`` user+system of the daemon process over a
  window of turns: other load on the machine barely moves it);
- parley's own time per turn: the round trip less the agent's part (``run_input`` to
  its response, the ``duration_ms`` of ``turn_finished``), median over the window;
- for reference, the whole round trip and the agent's CPU per turn: those grow with
  the conversation inside livekit-agents itself (each turn works on the whole chat
  context), which parley does not control.

Target: parley's numbers in the last window within 1.2x of the window at turn 100
(the per-turn cost does not grow with the session's length).
"""

from __future__ import annotations

import argparse
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


def _tree_cpu(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=4000)
    ap.add_argument("--window", type=int, default=100)
    args = ap.parse_args()
    from parley.app.daemon.client import ControlClient, locate

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PARLEY_HOME": home, "NO_COLOR": "1"}
        os.environ["PARLEY_HOME"] = home
        subprocess.run([*PARLEY, "start", str(ECHO)], cwd=ROOT, env=env, check=True)
        try:
            state = locate(ROOT)
            client = ControlClient(state)
            daemon = psutil.Process(state.daemon_pid)
            agent = psutil.Process(state.agent_pid)
            rtt: list[float] = []
            own: list[float] = []  # round trip less the agent's part (run_input to response)
            cpu: list[float] = []  # daemon CPU seconds after each turn
            agent_cpu: list[float] = []  # the agent's (and its children's)
            for i in range(args.turns):
                t0 = time.perf_counter()
                last = None
                for msg in client.stream("say", timeout=60, text=f"turn {i}"):
                    if msg.get("event") == "item":
                        last = msg["item"]
                rtt.append((time.perf_counter() - t0) * 1000)
                assert last and last["type"] == "turn_finished" and last["status"] == "ok", last
                own.append(rtt[-1] - last["duration_ms"])
                t = daemon.cpu_times()
                cpu.append(t.user + t.system)
                agent_cpu.append(_tree_cpu(agent))
                if (i + 1) % 500 == 0:
                    print(f"  {i + 1} turns, last rtt {rtt[-1]:.1f} ms", file=sys.stderr)
            rss_mb = daemon.memory_info().rss / 2**20
        finally:
            subprocess.run([*PARLEY, "stop"], cwd=ROOT, env=env, capture_output=True)
    w = args.window
    early = slice(100, 100 + w)
    late = slice(args.turns - w, args.turns)

    def per_turn(series: list[float], s: slice) -> float:
        return (series[s.stop - 1] - series[s.start - 1]) / (s.stop - s.start) * 1000

    def row(label: str, e: float, l_: float, target: bool = True) -> None:
        goal = "; target <= 1.2" if target else ""
        print(f"  {label}: {e:.2f} ms vs {l_:.2f} ms (x{l_ / e:.2f}{goal})")

    print(f"turns {early.start}-{early.stop - 1} vs {late.start}-{late.stop - 1}:")
    row("daemon CPU per turn", per_turn(cpu, early), per_turn(cpu, late))
    row(
        "parley's own time per turn, median (round trip less run_input->response)",
        statistics.median(own[early]),
        statistics.median(own[late]),
    )
    row(
        "round trip, median (includes the agent)",
        statistics.median(rtt[early]),
        statistics.median(rtt[late]),
        target=False,
    )
    row(
        "agent CPU per turn (livekit-agents, not parley)",
        per_turn(agent_cpu, early),
        per_turn(agent_cpu, late),
        target=False,
    )
    print(f"  daemon resident memory after {args.turns} turns: {rss_mb:.1f} MB")


if __name__ == "__main__":
    main()
