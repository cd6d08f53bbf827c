"""End to end: the agent's own log through the real CLI, on real livekit-agents agents.

A job that fails before its session starts (testdata/agents/job_fails.py), a tool that
raises a plain exception (testdata/agents/tool_raises.py), and LiveKit's console log
format (``\\n\\r`` line ends, ANSI colour) in ``parley logs`` and in error messages.
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import AGENTS, ECHO, Parley

pytestmark = pytest.mark.e2e

JOB_FAILS = AGENTS / "job_fails.py"
TOOL_RAISES = AGENTS / "tool_raises.py"
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
    leftovers = subprocess.run(
        ["pgrep", "-f", f"livekit.agents console {JOB_FAILS}"], capture_output=True, text=True
    )
    assert leftovers.stdout.strip() == ""
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
