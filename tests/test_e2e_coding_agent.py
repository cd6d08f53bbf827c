"""End to end, through the real CLI: what a coding agent driving parley relies on.

Latency per reply (`say --metrics`, `--json`), long tool output (`--full-output` and the
cut note), output nobody has seen yet (`(before this turn)`), `listen`, the idle timeout,
the session-end summary. Real livekit-agents agents from testdata/agents; only the model
is scripted.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from conftest import AGENTS, ECHO, Parley, wait_until

pytestmark = pytest.mark.e2e

WORKER = AGENTS / "worker.py"
BUILD_DONE = "The build finished: all 40 tests passed."


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parley]:
    """One session of the worker agent shared by this module's tests."""
    p = Parley(tmp_path_factory.mktemp("parley-home"))
    p("start", str(WORKER), check=True)
    yield p
    p.stop_quietly()


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def status(p: Parley) -> dict:
    return json.loads(p("status", "--json", check=True).stdout)


# -- latency ---------------------------------------------------------------------------


def test_say_metrics_shows_latency_of_each_reply_and_the_turn(parley: Parley) -> None:
    parley("start", str(ECHO), check=True)
    # the scripted model waits 0.3 s before its first token
    proc = parley("say", "--metrics", "slow 0.3 hello", check=True)
    lines = proc.stdout.splitlines()
    reply = lines.index("    echo: slow 0.3 hello")
    m = re.fullmatch(r"    llm_ttft (\d+) ms · tts_ttfb – · e2e (\d+) ms", lines[reply + 1])
    assert m, proc.stdout
    ttft, e2e = int(m[1]), int(m[2])
    assert 300 <= ttft <= e2e
    turn = re.fullmatch(r"  turn (\d+) ms|  turn (\d+\.\d\d) s", lines[-1])
    assert turn, proc.stdout
    turn_ms = int(turn[1]) if turn[1] else float(turn[2]) * 1000
    assert turn_ms >= e2e

    # the same numbers in JSON, in seconds
    objs = json_lines(parley("say", "--json", "slow 0.2 again", check=True).stdout)
    (msg,) = [o for o in objs if o["type"] == "agent_message"]
    lat = msg["latency"]
    assert set(lat) == {"llm_ttft", "tts_ttfb", "e2e"}
    assert 0.2 <= lat["llm_ttft"] <= lat["e2e"]
    # text mode: the framework never runs the TTS node, so it reports no first byte
    assert lat["tts_ttfb"] is None
    assert msg["metrics"]["llm_node_ttft"] == lat["llm_ttft"]
    assert objs[-1]["type"] == "turn_finished" and objs[-1]["duration_ms"] >= lat["e2e"] * 1000

    # without --metrics the seed format is unchanged
    plain = parley("say", "hi", check=True)
    assert plain.stdout == "\n  ● You\n    hi\n\n  ● Agent\n    echo: hi\n"


# -- long tool output --------------------------------------------------------------------


def test_long_tool_output_first_line_with_note_or_in_full(worker: Parley) -> None:
    proc = worker("say", "run the tests", check=True)
    assert "\n  ● function_tool: run_tests\n    ✓ collected 40 items …\n" in proc.stdout
    assert proc.stderr == (
        "    (output of run_tests cut: 1,599 more characters on 39 more lines; "
        "--full-output prints it all)\n"
    )
    full = worker("say", "--full-output", "run the tests", check=True)
    block = full.stdout.split("  ● function_tool: run_tests\n")[1].split("\n\n")[0]
    assert block.splitlines()[0] == "    ✓ collected 40 items"
    assert block.splitlines()[1:] == [
        f"      tests/test_build.py::test_step_{i:02d} PASSED" for i in range(1, 40)
    ]
    assert full.stderr == ""
    # events and history take the flag too
    hist = worker("history", "--full-output", check=True)
    assert "      tests/test_build.py::test_step_39 PASSED" in hist.stdout


# -- unseen output, listen ---------------------------------------------------------------


def test_background_result_is_printed_first_by_the_next_say(worker: Parley) -> None:
    worker("say", "build 0.2", check=True)
    wait_until(lambda: status(worker)["unseen_items"] == 1, timeout=30)
    assert "unseen items:     1" in worker("status", check=True).stdout

    proc = worker("say", "what can you do?", check=True)
    assert proc.stdout.startswith(f"\n  ● Agent (before this turn)\n    {BUILD_DONE}\n\n  ● You\n")
    assert status(worker)["unseen_items"] == 0
    # shown once: the next say starts with its own turn
    again = worker("say", "what can you do?", check=True)
    assert again.stdout.startswith("\n  ● You\n    what can you do?\n")


def test_unseen_items_in_json_are_marked_before_turn(worker: Parley) -> None:
    worker("say", "build 0.2", check=True)
    wait_until(lambda: status(worker)["unseen_items"] == 1, timeout=30)
    objs = json_lines(worker("say", "--json", "hello", check=True).stdout)
    before = [o for o in objs if o.get("before_turn")]
    assert [o["text"] for o in before if o["type"] == "agent_message"] == [BUILD_DONE]
    assert all(o["turn_id"] is None for o in before)
    own = [o for o in objs if not o.get("before_turn")]
    assert own[0]["type"] == "user_message" and own[0]["text"] == "hello"
    assert objs.index(before[-1]) < objs.index(own[0])  # printed first
    assert own[-1]["type"] == "turn_finished"


def test_a_no_wait_turn_is_shown_by_the_next_say(worker: Parley) -> None:
    turn_id = worker("say", "--no-wait", "run the tests", check=True).stdout.strip()
    wait_until(lambda: status(worker)["turns"] >= 1 and status(worker)["unseen_items"] >= 3)
    wait_until(lambda: status(worker)["turn_in_progress"] is None)
    proc = worker("say", "hello", check=True)
    head, _, own = proc.stdout.partition("\n  ● You\n    hello\n")
    assert head == (
        "\n  ● You (before this turn)\n    run the tests\n"
        "\n  ● function_tool: run_tests (before this turn)\n    ✓ collected 40 items …\n"
        "\n  ● Agent (before this turn)\n    The tests ran: 40 passed.\n"
    ), turn_id
    assert own == "\n  ● Agent\n    I can run the tests or start a build.\n"


def test_events_counts_as_looking(worker: Parley) -> None:
    worker("say", "build 0.2", check=True)
    wait_until(lambda: status(worker)["unseen_items"] == 1, timeout=30)
    assert BUILD_DONE in worker("events", check=True).stdout
    assert status(worker)["unseen_items"] == 0
    proc = worker("say", "hello", check=True)
    assert "(before this turn)" not in proc.stdout


def test_listen_returns_a_background_result(worker: Parley) -> None:
    worker("say", "build 1", check=True)
    proc = worker("listen", "--timeout", "60")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"\n  ● Agent\n    {BUILD_DONE}\n"
    assert status(worker)["unseen_items"] == 0
    # nothing more to hear: the timeout, exit 124
    quiet = worker("listen", "--timeout", "0.5")
    assert quiet.returncode == 124
    assert quiet.stdout == ""
    assert "said nothing within 0.5 s" in quiet.stderr


def test_listen_json_prints_items_already_there(worker: Parley) -> None:
    worker("say", "build 0.2", check=True)
    wait_until(lambda: status(worker)["unseen_items"] == 1, timeout=30)
    proc = worker("listen", "--json", "--timeout", "60")
    assert proc.returncode == 0, proc.stderr
    msgs = [o for o in json_lines(proc.stdout) if o["type"] == "agent_message"]
    assert [m["text"] for m in msgs] == [BUILD_DONE] and msgs[0]["turn_id"] is None


# -- idle timeout ------------------------------------------------------------------------


def test_an_idle_session_stops_by_itself_and_leaves_nothing_running(parley: Parley) -> None:
    parley("start", str(ECHO), "--idle-timeout", "3s", check=True)
    st = status(parley)
    assert st["idle_timeout_s"] == 3
    daemon, agent = psutil.Process(st["daemon_pid"]), psutil.Process(st["agent_pid"])
    # a running turn is activity: a 5 s turn outlasts the 3 s timeout
    proc = parley("say", "slow 5 still here", check=True)
    assert "echo: slow 5 still here" in proc.stdout
    assert daemon.is_running() and agent.is_running()
    assert "idle:" in parley("status", check=True).stdout

    wait_until(lambda: not _alive(daemon) and not _alive(agent), timeout=60)
    after = parley("say", "hello")
    assert after.returncode == 1 and after.stderr.startswith("no session running")
    assert not list((parley.home / "run").glob("*/state.json"))
    # the recording says why it ended
    hist = parley("history", check=True)
    assert "without activity (--idle-timeout)" in hist.stdout


def test_idle_timeout_zero_disables_it_and_bad_values_are_usage_errors(parley: Parley) -> None:
    bad = parley("start", str(ECHO), "--idle-timeout", "soon")
    assert bad.returncode == 2 and "not a duration" in bad.stderr
    parley("start", str(ECHO), "--idle-timeout", "0", check=True)
    st = status(parley)
    assert st["idle_timeout_s"] == 0
    assert "(no idle timeout)" in parley("status", check=True).stdout


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_stop_prints_the_one_line_summary(parley: Parley) -> None:
    parley("start", str(ECHO), check=True)
    parley("say", "one", check=True)
    st = status(parley)
    out = parley("stop", check=True).stdout
    assert out == (
        f'Session ended. 1 turn(s) over {_dur(out)}, ending with agent "echo". '
        f"Agent log kept at: {st['agent_log']}. Recording: {st['event_log']}\n"
    )
    assert Path(st["event_log"]).is_file()


def _dur(out: str) -> str:
    m = re.search(r"over ((?:\d+m)?\d+s),", out)
    assert m, out
    return m[1]


def test_listen_ends_with_an_error_when_the_agent_is_gone(parley: Parley) -> None:
    parley("start", str(ECHO), check=True)
    os.killpg(status(parley)["agent_pid"], signal.SIGKILL)
    proc = parley("listen", "--timeout", "60")
    assert proc.returncode == 1
    assert "the agent exited with code -9" in proc.stderr
