"""End to end: the real `parley` CLI, the real daemon, real livekit-agents agents.

Only the model is scripted (app/demo/scripted_llm.py); nothing else is faked.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import psutil
import pytest
from conftest import DEMO, ECHO, Parley, copy_agent, wait_until

pytestmark = pytest.mark.e2e

WEATHER_TURN = """
  ● You
    what's the weather in San Francisco?

  ● function_tool: lookup_weather
    ✓ sunny with a temperature of 70 degrees.

  ● Agent
    The weather in San Francisco is sunny with a temperature of 70 degrees.
"""

HANDOFF_TURN = """
  ● You
    please connect me to billing

  ● function_tool: transfer_to_billing

  ● handoff: concierge → billing

  ● Agent
    Hi, this is billing. I can check your balance or take you back to the concierge.
"""


def port_is_free(port: int) -> bool:
    """Nobody listens on the port and it can be bound again (TIME_WAIT aside)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        pass
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen()
        except OSError:
            return False
    return True


def daemons_for(agent: Path) -> list[int]:
    """Pids of parley daemons started for ``agent`` (its path is in their config)."""
    pids = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = proc.info["cmdline"] or []
        if "parley.app.daemon.process" in cmd and any(str(agent) in arg for arg in cmd):
            pids.append(proc.pid)
    return pids


def status_json(parley: Parley) -> dict:
    proc = parley("status", "--json", check=True)
    return json.loads(proc.stdout)


def test_start_say_tool_say_handoff_stop(parley: Parley) -> None:
    started = parley("start", str(DEMO), check=True)
    assert f"Agent file: {DEMO}" in started.stdout
    assert "Agent:      concierge" in started.stdout
    assert "lookup_weather" in started.stdout and "transfer_to_billing" in started.stdout
    assert "Hi! I'm your travel concierge." in started.stdout  # the boot greeting
    assert started.stdout.rstrip().endswith("Session started.")

    weather = parley("say", "what's the weather in San Francisco?", check=True)
    assert weather.stdout == WEATHER_TURN

    handoff = parley("say", "please connect me to billing", check=True)
    assert handoff.stdout == HANDOFF_TURN

    st = status_json(parley)
    assert st["agent_id"] == "billing"
    control_port, agent_port = st["control_port"], None
    state_file = next((parley.home / "run").glob("*/state.json"))
    agent_port = json.loads(state_file.read_text())["agent_port"]
    daemon_pid, agent_pid = st["daemon_pid"], st["agent_pid"]
    # detached: each leads its own session, so closing the terminal reaches neither
    assert os.getsid(daemon_pid) == daemon_pid and os.getsid(agent_pid) == agent_pid

    stopped = parley("stop", check=True)
    # one line: "Session ended." then the summary (2 turns, the agent in charge at the
    # end, where the agent log and the recording are kept)
    summary = re.fullmatch(
        r'Session ended\. 2 turn\(s\) over (\d+m)?\d+s, ending with agent "billing"\. '
        r"Agent log kept at: (?P<log>\S+/agent\.log)\. Recording: (?P<rec>\S+/events\.jsonl)\n",
        stopped.stdout,
    )
    assert summary, stopped.stdout
    assert Path(summary["log"]) == Path(st["agent_log"]) and Path(summary["log"]).is_file()
    assert Path(summary["rec"]) == Path(st["event_log"]) and Path(summary["rec"]).is_file()
    # stop returns only after both processes are gone and the ports are closed
    assert not _alive(daemon_pid) and not _alive(agent_pid)
    assert port_is_free(control_port) and port_is_free(agent_port)

    after = parley("say", "what's the weather in San Francisco?")
    assert after.returncode == 1
    assert after.stderr.startswith("no session running")
    assert after.stdout == ""

    # the event log outlives the session
    hist = parley("history", check=True)
    assert WEATHER_TURN in hist.stdout and HANDOFF_TURN in hist.stdout


def test_json_pairs_tool_calls_and_failed_tool(demo_session: Parley) -> None:
    proc = demo_session("say", "--json", "look up booking ZZZ999")
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all(o["v"] == 1 and o["turn_id"] == objs[0]["turn_id"] for o in objs)
    assert [o["seq"] for o in objs] == sorted(o["seq"] for o in objs)
    assert objs[0]["type"] == "user_message" and objs[0]["text"] == "look up booking ZZZ999"
    assert objs[-1]["type"] == "turn_finished" and objs[-1]["status"] == "ok"
    calls = [o for o in objs if o["type"] == "tool_call"]
    started = [c for c in calls if c["status"] == "running"]
    ended = [c for c in calls if c["status"] != "running"]
    assert len(started) == len(ended) == 1
    assert started[0]["call_id"] == ended[0]["call_id"]
    assert started[0]["name"] == ended[0]["name"] == "lookup_booking"
    assert json.loads(started[0]["arguments"]) == {"booking_id": "ZZZ999"}
    assert ended[0]["status"] == "error" and ended[0]["is_error"] is True
    assert ended[0]["output"] == "No booking found with number ZZZ999."

    text = demo_session("say", "look up booking ZZZ999", check=True).stdout
    assert "  ● function_tool: lookup_booking\n    ✗ No booking found with number ZZZ999.\n" in text
    assert "Sorry, I couldn't find that booking." in text


def test_model_failure_exits_1_and_shows_error(demo_session: Parley) -> None:
    proc = demo_session("say", "explode")
    assert proc.returncode == 1
    assert "  ● You\n    explode\n" in proc.stdout
    assert "  ✗ " in proc.stdout and "scripted model failure" in proc.stdout
    # the session survives a failed turn
    ok = demo_session("say", "hello", check=True)
    assert "I can check the weather" in ok.stdout


def test_say_reads_stdin_and_keeps_multiline_indent(demo_session: Parley) -> None:
    proc = demo_session("say", "-", input="hello\nsecond line\n", check=True)
    assert "  ● You\n    hello\n    second line\n" in proc.stdout


def test_bad_input_is_refused_without_sending(demo_session: Parley) -> None:
    before = status_json(demo_session)["items"]
    empty = demo_session("say", "   ")
    assert empty.returncode == 2 and "empty" in empty.stderr and empty.stdout == ""
    huge = demo_session("say", "-", input="x" * (1 << 20))
    assert huge.returncode == 2 and "bytes" in huge.stderr and huge.stdout == ""
    assert status_json(demo_session)["items"] == before  # nothing reached the session


def test_second_start_is_refused(demo_session: Parley) -> None:
    again = demo_session("start", str(ECHO))
    assert again.returncode == 1
    assert "already running" in again.stderr and str(DEMO) in again.stderr
    assert status_json(demo_session)["agent_file"] == str(DEMO)


def test_status_history_and_agent_history(demo_session: Parley) -> None:
    demo_session("say", "what's the weather in Paris?", check=True)
    st = status_json(demo_session)
    for key in ("project", "agent_file", "agent_id", "agent_state", "daemon_pid", "agent_pid"):
        assert st[key], key
    assert st["turn_in_progress"] is None
    assert Path(st["agent_log"]).exists() and Path(st["event_log"]).exists()
    human = demo_session("status", check=True).stdout
    assert f"daemon_pid:       {st['daemon_pid']}" in human

    hist = demo_session("history", check=True).stdout
    assert "The weather in Paris is sunny" in hist
    model_view = demo_session("history", "--agent", check=True).stdout
    assert "what's the weather in Paris?" in model_view
    assert "function_tool: lookup_weather" in model_view
    logs = demo_session("logs", "-n", "5", check=True).stdout
    assert len(logs.splitlines()) <= 5 and logs.strip()


def test_unauthenticated_control_connection_is_refused(demo_session: Parley) -> None:
    st = status_json(demo_session)
    for line in (b'{"op": "status"}\n', b'{"token": "wrong", "op": "stop"}\n', b"garbage\n"):
        with socket.create_connection(("127.0.0.1", st["control_port"]), timeout=5) as s:
            s.sendall(line)
            reply = s.makefile("rb").readline()
        assert json.loads(reply) == {"event": "error", "error": "unauthorized", "kind": "auth"}
    assert status_json(demo_session)["daemon_pid"] == st["daemon_pid"]  # still alive


def test_state_files_are_private(demo_session: Parley) -> None:
    run_dir = next((demo_session.home / "run").glob("*/state.json")).parent
    assert run_dir.stat().st_mode & 0o777 == 0o700
    assert (run_dir / "state.json").stat().st_mode & 0o777 == 0o600


def test_say_timeout_exits_124_and_turn_goes_on(demo_session: Parley) -> None:
    proc = demo_session("say", "--timeout", "1", "run a slow search for 3 seconds")
    assert proc.returncode == 124
    # say returned while the turn still runs in the session
    assert status_json(demo_session)["turn_in_progress"] is not None
    assert "may still be running" in proc.stderr
    # the turn was not cancelled: it finishes and is in the log
    wait_until(lambda: "The search took 3 seconds" in demo_session("history").stdout, timeout=15)


def test_missing_agent_file(parley: Parley) -> None:
    proc = parley("start", "no/such/agent.py")
    assert proc.returncode == 1
    assert "agent file not found: no/such/agent.py" in proc.stderr


def test_agent_with_syntax_error_fails_fast(parley: Parley, tmp_path: Path) -> None:
    agent = copy_agent(ECHO, tmp_path / "broken")
    agent.write_text(agent.read_text() + "\ndef broken(:\n")
    # an hour's connect timeout: only the agent's exit can end the start in time (how
    # fast: `python bench/bench_job_failure.py --syntax-error`, target < 10 s)
    proc = parley("start", "--connect-timeout", "3600", str(agent))
    assert proc.returncode == 1
    assert "exited with code" in proc.stderr and "SyntaxError" in proc.stderr
    assert parley("status").returncode == 1


def test_killed_daemon_leaves_state_that_is_recovered(parley: Parley) -> None:
    parley("start", str(ECHO), check=True)
    st = status_json(parley)
    os.kill(st["daemon_pid"], signal.SIGKILL)
    wait_until(lambda: not _alive(st["daemon_pid"]))
    # the agent does not outlive its daemon: its watchdog stops it, no parley command
    # needed (it used to run on as an orphan until one ran)
    wait_until(lambda: not _alive(st["agent_pid"]), timeout=20)

    status = parley("status")
    assert status.returncode == 1 and "no session running" in status.stderr
    assert "stale" in status.stderr
    assert not _alive(st["agent_pid"])  # cleaned up with the stale state
    assert not list((parley.home / "run").glob("*/state.json"))
    # and a new session starts normally
    parley("start", str(ECHO), check=True)
    assert "echo: hi" in parley("say", "hi", check=True).stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_agent_that_never_connects_times_out_and_is_stopped(parley: Parley, tmp_path: Path) -> None:
    agent = tmp_path / "hang" / "agent.py"
    agent.parent.mkdir()
    agent.write_text("import time\ntime.sleep(600)  # never builds an AgentServer\n")
    proc = parley("start", "--connect-timeout", "4", str(agent))
    assert proc.returncode == 1
    assert "did not connect within 4 s" in proc.stderr
    leftovers = subprocess.run(
        ["pgrep", "-f", f"livekit.agents console {agent}"], capture_output=True, text=True
    )
    assert leftovers.stdout.strip() == ""  # the hanging agent was stopped


def test_agent_crash_mid_session_is_reported(parley: Parley) -> None:
    parley("start", str(ECHO), check=True)
    st = status_json(parley)
    os.killpg(st["agent_pid"], signal.SIGKILL)
    wait_until(lambda: status_json(parley)["agent_state"] == "disconnected")
    proc = parley("say", "are you there?")
    assert proc.returncode == 1
    assert "the agent exited with code -9" in proc.stderr
    assert proc.stdout == ""
    hist = parley("history", check=True).stdout
    assert "✗ the agent exited with code -9" in hist
    # the summary: the refused say was no turn; the log and the recording are kept
    stopped = parley("stop", check=True).stdout
    assert stopped == (
        f"Session ended. 0 turn(s) over {stopped.split(' over ')[1].split(',')[0]}, "
        f'ending with agent "echo". Agent log kept at: {st["agent_log"]}. '
        f"Recording: {st['event_log']}\n"
    )
    assert re.fullmatch(r"(\d+m)?\d+s", stopped.split(" over ")[1].split(",")[0])


def test_end_call_ends_the_session_cleanly(parley: Parley) -> None:
    parley("start", str(DEMO), check=True)
    bye = parley("say", "goodbye", check=True)
    assert "  ● function_tool: end_call\n" in bye.stdout
    assert "Goodbye, and have a great trip!" in bye.stdout
    wait_until(lambda: status_json(parley)["agent_state"] == "disconnected")
    after = parley("say", "hello?")
    assert after.returncode == 1 and "the agent ended the call" in after.stderr
    assert "`parley start` starts a new session" in after.stderr
    assert "✗" not in parley("history", check=True).stdout  # not a crash
    agent_pid = status_json(parley)["agent_pid"]
    parley("stop", check=True)  # the agent swallows the first SIGTERM after end_call
    assert not _alive(agent_pid)  # stop returns once the agent is gone


def test_ctrl_c_during_start_leaves_nothing_running(parley: Parley, tmp_path: Path) -> None:
    agent = tmp_path / "slowboot" / "agent.py"
    agent.parent.mkdir()
    agent.write_text("import time\ntime.sleep(600)  # boots forever\n")
    start = parley.popen("start", str(agent))
    pattern = f"livekit.agents console {agent}"
    wait_until(lambda: subprocess.run(["pgrep", "-f", pattern], capture_output=True).stdout)
    start.send_signal(signal.SIGINT)
    start.wait(timeout=20)
    assert start.returncode == 130
    wait_until(
        lambda: not subprocess.run(["pgrep", "-f", pattern], capture_output=True).stdout,
        timeout=10,
    )
    # the daemon this start spawned is gone too (its command line names the agent)
    wait_until(lambda: not daemons_for(agent), timeout=10)
    assert parley("status").returncode == 1


def test_a_failed_restart_refuses_turns_instead_of_hanging(
    parley_home: Path, tmp_path: Path
) -> None:
    from parley.app.daemon.client import ControlClient, ControlError
    from parley.app.daemon.state import SessionState

    agent = copy_agent(ECHO, tmp_path / "proj")
    p = Parley(parley_home, cwd=agent.parent)  # the session of that project
    p("start", str(agent), check=True)
    try:
        agent.write_text(agent.read_text() + "\ndef broken(:\n")
        state = SessionState.load(next((parley_home / "run").glob("*/state.json")).parent)
        assert state is not None
        try:
            ControlClient(state).call("restart", timeout=30)
        except ControlError as e:
            assert "exited with code" in str(e)
        else:
            raise AssertionError("restart of a broken agent must fail")
        proc = p("say", "--timeout", "20", "hello?")
        assert proc.returncode == 1, proc.stderr  # refused: a hang would exit 124
        assert "the agent" in proc.stderr
    finally:
        p.stop_quietly()


def test_start_demo_runs_the_bundled_agent_as_this_directorys_session(
    parley_home: Path, tmp_path: Path
) -> None:
    p = Parley(parley_home, cwd=tmp_path)  # an empty directory: no agent.py, no project
    try:
        started = p("start", "--demo", check=True)
        assert "Agent:      concierge" in started.stdout
        assert "lookup_booking" in started.stdout
        assert status_json(p)["project"] == str(tmp_path.resolve())
        said = p("say", "look up booking ABC123", check=True)
        assert "two nights at the Harbor Hotel" in said.stdout
        p("stop", check=True)
        assert p("status").returncode == 1
    finally:
        p.stop_quietly()
