"""Clear errors instead of tracebacks: text that is not UTF-8, a state or data
directory parley cannot use. The real CLI in a subprocess; no agent starts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import ECHO, Parley, parley_exe


def _run(home: Path, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PARLEY_HOME": str(home), "NO_COLOR": "1"}
    env.pop("PARLEY_SESSION", None)
    return subprocess.run(
        [*parley_exe(), *args], env=env, input=stdin, capture_output=True, timeout=60
    )


def test_say_refuses_text_that_is_not_utf8(tmp_path: Path) -> None:
    piped = _run(tmp_path, "say", stdin=b"caf\xe9 au lait")
    assert piped.returncode == 2, piped.stderr
    assert piped.stderr.decode() == (
        "parley: the text on stdin is not valid UTF-8 (byte 0xe9 at offset 3); nothing was sent\n"
    )
    arg = _run(tmp_path, "say", os.fsdecode(b"caf\xe9"))
    assert arg.returncode == 2, arg.stderr
    assert b"not valid UTF-8 (byte 0xe9 at character 3); nothing was sent" in arg.stderr
    assert b"Traceback" not in piped.stderr + arg.stderr


def _unusable_homes(tmp_path: Path) -> list[Path]:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    homes = [blocker / "home"]  # a file where a directory should be
    if os.geteuid() != 0:  # root writes anywhere: a read-only directory stops others
        ro = tmp_path / "read-only"
        ro.mkdir()
        ro.chmod(0o500)
        homes.append(ro / "home")
    return homes


@pytest.mark.parametrize(
    "args", [("start", str(ECHO)), ("say", "hi"), ("history",), ("sessions",), ("status",)]
)
def test_an_unusable_state_directory_is_one_clear_line(tmp_path: Path, args: tuple) -> None:
    for home in _unusable_homes(tmp_path):
        proc = _run(home, *args)
        err = proc.stderr.decode()
        assert proc.returncode == 1, err
        assert b"Traceback" not in proc.stderr
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"parley: cannot use parley's directory {home}/")
        assert f"PARLEY_HOME is {home}" in err


def test_start_checks_the_data_directory_before_spawning(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    (home / "data").write_text("not a directory")
    p = Parley(home)
    proc = p("start", str(ECHO))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"cannot use parley's directory {home / 'data'}" in proc.stderr
    assert not list((home / "run").glob("*/state.json"))  # nothing was started


def test_the_agent_log_hint_of_a_failed_turn_names_its_session(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from parley.app.cli.streams import log_printer

    log_printer(False, "two")({"event": "log", "failure": True, "lines": ["ERROR boom"]})
    log_printer(False)({"event": "log", "failure": True, "lines": ["ERROR boom"]})
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "parley: from the agent log (`parley logs -s two` shows all of it):"
    assert err[2] == "parley: from the agent log (`parley logs` shows all of it):"


@pytest.mark.parametrize("command", ["start", "chat"])
def test_the_hint_for_a_missing_agent_names_the_session(tmp_path: Path, command: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PARLEY_HOME": str(tmp_path / "home"), "NO_COLOR": "1"}
    env.pop("PARLEY_SESSION", None)
    proc = subprocess.run(
        [*parley_exe(), command, "-s", "two"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    assert f"name the agent file: parley {command} -s two path/to/agent.py" in proc.stderr
