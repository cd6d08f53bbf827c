"""End to end: the agent's own log through the real CLI, on real livekit-agents agents.

A job that fails before its session starts (testdata/agents/job_fails.py), a tool that
raises a plain exception (testdata/agents/tool_raises.py), and LiveKit's console log
format (``\\n\\r`` line ends, ANSI colour) in ``parley logs`` and in error messages.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import pytest
from conftest import AGENTS, DEMO, ECHO, Parley, processes_of

from parley.app.cli import exitcodes

pytestmark = pytest.mark.e2e

JOB_FAILS = AGENTS / "job_fails.py"
TOOL_RAISES = AGENTS / "tool_raises.py"
DB_ERROR = "inventory database unreachable: connection to db.internal:5432 refused"
AVATAR_ERROR = (
    "job_fails.AvatarConnectionError: could not reach the avatar service at "
    "https://avatar.invalid/v1/sessions: connection refused"
)


def test_job_failing_before_session_start_is_reported_with_its_exception(parley: Parley) -> None:
    # a connect timeout far beyond the test's own subprocess timeout (90 s): only the
    # job failure itself can end this start
    proc = parley("start", "--connect-timeout", "600", str(JOB_FAILS))
    assert proc.returncode == 1
    err = proc.stderr
    first = err.splitlines()[0]
    assert first == f"parley: the agent's job failed before its session started: {AVATAR_ERROR}"
    # the traceback's last lines, one line per log line, no escape codes (NO_COLOR, a pipe)
    assert "Traceback (most recent call last):" in err
    assert 'job_fails.py", line' in err and "in start_avatar" in err
    assert err.splitlines().count(AVATAR_ERROR) == 1
    assert "\x1b" not in err and "\r" not in err and "\n\n" not in err.strip()
    assert "(full agent log: " in err
    # nothing left running, and no session
    assert processes_of(parley.home) == []
    assert parley("status").returncode == 1


def test_logs_one_line_per_log_line_without_escapes(parley: Parley) -> None:
    parley("start", str(ECHO), check=True)
    parley("say", "hi", check=True)
    out = parley("logs", "-n", "200", check=True).stdout
    lines = out.splitlines()
    assert lines and all(line.strip() for line in lines)  # no blank line between entries
    assert "\x1b" not in out and "\r" not in out
    assert any(" DEBUG livekit.agents " in line for line in lines)
    assert any('"lk.pii.text": "hi"' in line for line in lines)
    assert len(parley("logs", "-n", "3", check=True).stdout.splitlines()) == 3


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parley]:
    """A running session of the agent whose check_stock tool raises RuntimeError."""
    p = Parley(tmp_path_factory.mktemp("parley-home"))
    p("start", str(TOOL_RAISES), check=True)
    yield p
    p.stop_quietly()


def test_failing_tool_shows_its_traceback_without_asking(inventory: Parley) -> None:
    proc = inventory("say", "stock widgets")
    assert proc.returncode == 0, proc.stderr  # the turn itself finished: the model answered
    # stdout is the conversation, as always; the protocol only says "internal error"
    assert "  ● function_tool: check_stock\n    ✗ An internal error occurred\n" in proc.stdout
    assert "Sorry, the stock check failed." in proc.stdout
    assert "│" not in proc.stdout and "Traceback" not in proc.stdout
    # stderr has the real cause: the traceback's last lines, from the agent's own log
    err = proc.stderr.splitlines()
    assert err[0] == "parley: from the agent log (`parley logs` shows all of it):"
    assert all(line.startswith("  │") for line in err[1:])
    body = [line[4:] for line in err[1:]]
    assert "exception occurred while executing tool" in body[0] and "check_stock" in body[0]
    assert body[1] == "Traceback (most recent call last):"
    assert 'tool_raises.py", line' in proc.stderr and "    raise RuntimeError(DB_ERROR)" in body
    assert body[-1] == f"RuntimeError: {DB_ERROR}"
    assert "\x1b" not in proc.stderr


def test_failing_tool_in_json_keeps_stdout_items_only(inventory: Parley) -> None:
    proc = inventory("say", "--json", "stock gadgets")
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    assert all("seq" in o for o in objs) and objs[-1]["type"] == "turn_finished"
    assert proc.stderr.splitlines()[-1] == f"  │ RuntimeError: {DB_ERROR}"


def test_a_turn_without_failure_prints_no_log(inventory: Parley) -> None:
    proc = inventory("say", "log 2", check=True)
    assert proc.stderr == "" and "│" not in proc.stdout


def test_say_logs_interleaves_the_turns_log_lines(inventory: Parley) -> None:
    proc = inventory("say", "--logs", "log 3", check=True)
    lines = proc.stdout.splitlines()
    logged = [ln for ln in lines if ln.startswith("  │ ")]
    mine = [ln for ln in logged if " INFO inventory inventory log line " in ln]
    assert [ln.split("inventory log line ")[1].strip() for ln in mine] == [
        "1 of 3",
        "2 of 3",
        "3 of 3",
    ]
    # in order: the user's message, the tool's log lines, then the tool's result
    you = lines.index("    log 3")
    tool = lines.index("  ● function_tool: log_lines")
    assert you < lines.index(mine[0]) < lines.index(mine[-1]) < tool
    # only this turn's lines: nothing from the earlier turns' tools
    assert not any("check_stock" in ln for ln in logged)
    assert "\x1b" not in proc.stdout and "\r" not in proc.stdout
    assert proc.stderr == ""


def test_say_logs_json_documents_agent_log_objects(inventory: Parley) -> None:
    proc = inventory("say", "--json", "--logs", "stock bolts")
    assert proc.returncode == 0, proc.stderr
    objs = [json.loads(line) for line in proc.stdout.splitlines()]
    logs = [o for o in objs if o["type"] == "agent_log"]
    turn_id = objs[0]["turn_id"]
    assert logs and all(
        set(o) == {"v", "type", "turn_id", "ts", "line"} and o["turn_id"] == turn_id for o in logs
    )
    assert any(o["line"] == f"RuntimeError: {DB_ERROR}" for o in logs)
    assert not any("\x1b" in o["line"] for o in logs)
    assert objs[-1]["type"] == "turn_finished"
    assert proc.stderr == ""  # asked for: the traceback is on stdout, not repeated


def test_failed_turn_shows_the_model_error_traceback(parley: Parley) -> None:
    parley("start", str(DEMO), check=True)
    proc = parley("say", "explode")
    assert proc.returncode == 1
    assert "scripted model failure" in proc.stdout
    err = proc.stderr.splitlines()
    assert err[0] == "parley: from the agent log (`parley logs` shows all of it):"
    assert err[-1].startswith("  │ livekit.agents._exceptions.APIStatusError: ")


def test_logs_follow_prints_new_lines_until_the_session_stops(parley: Parley) -> None:
    """``logs -f`` prints each line as the agent writes it, and ends (exit 0) once the
    session it follows stops; on a recorded session it follows until Ctrl+C."""
    parley("start", str(ECHO), check=True)
    follower = parley.popen("logs", "-f", "-n", "1")
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().strip()  # its tail: it follows from here on
        parley("say", "hi", check=True)
        seen = ""
        while '"lk.pii.text": "hi"' not in seen:  # a line written after it started
            line = follower.stdout.readline()
            assert line, "logs -f ended before the turn's lines"
            seen += line
        parley("stop", check=True)
        out, err = follower.communicate(timeout=60)
        assert follower.returncode == 0, err
        assert "\x1b" not in seen + out and "\r" not in seen + out
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.communicate()
    recorded = parley.popen("logs", "-f", "-n", "1")
    try:
        assert recorded.stdout is not None
        assert recorded.stdout.readline().strip()
        recorded.send_signal(signal.SIGINT)
        _, err = recorded.communicate(timeout=60)
        assert recorded.returncode == exitcodes.INTERRUPTED, err
    finally:
        if recorded.poll() is None:
            recorded.kill()
            recorded.communicate()
