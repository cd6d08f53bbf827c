"""Finding the agent file and its interpreter; checking livekit-agents there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from parley.app.agent.launcher import (
    AgentSpec,
    LaunchError,
    check_agents_installed,
    find_agent_file,
    find_interpreter,
)
from parley.app.daemon.state import project_root, session_key


def test_explicit_file_missing_or_a_directory(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="agent file not found: nope.py"):
        find_agent_file("nope.py", tmp_path)
    (tmp_path / "d").mkdir()
    with pytest.raises(LaunchError, match="not a file"):
        find_agent_file("d", tmp_path)


def test_agent_py_or_src_agent_py_walking_up(tmp_path: Path) -> None:
    deep = tmp_path / "proj" / "a" / "b"
    deep.mkdir(parents=True)
    with pytest.raises(LaunchError, match="no agent.py or src/agent.py"):
        find_agent_file(None, deep)
    (tmp_path / "proj" / "src").mkdir()
    (tmp_path / "proj" / "src" / "agent.py").write_text("")
    assert find_agent_file(None, deep) == tmp_path / "proj" / "src" / "agent.py"
    (tmp_path / "proj" / "a" / "agent.py").write_text("")
    assert find_agent_file(None, deep) == tmp_path / "proj" / "a" / "agent.py"


def test_project_root_is_the_nearest_marker(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "src").mkdir()
    agent = tmp_path / "src" / "agent.py"
    agent.write_text("")
    assert project_root(agent) == tmp_path
    assert session_key(tmp_path) == session_key(tmp_path / "src" / "..")
    assert session_key(tmp_path, "other") != session_key(tmp_path)


def fake_python(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    path.write_text("")
    return path


def test_interpreter_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no uv
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    assert find_interpreter(tmp_path) == [sys.executable]
    (tmp_path / "uv.lock").write_text("")
    assert find_interpreter(tmp_path) == [sys.executable]  # uv not installed
    venv = fake_python(tmp_path / "venv" / "bin" / "python")
    assert find_interpreter(tmp_path) == [str(venv)]
    dotvenv = fake_python(tmp_path / ".venv" / "bin" / "python")
    assert find_interpreter(tmp_path) == [str(dotvenv)]
    active = fake_python(tmp_path / "active" / "bin" / "python")
    monkeypatch.setenv("VIRTUAL_ENV", str(active.parent.parent))
    assert find_interpreter(tmp_path) == [str(active)]


def test_uv_project_uses_uv_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    uv = fake_python(bindir / "uv")
    uv.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text("[project]\nname='x'\n\n[tool.uv]\n")
    assert find_interpreter(proj) == ["uv", "run", "--project", str(proj), "--no-sync", "python"]


def test_installed_livekit_agents_passes() -> None:
    assert check_agents_installed([sys.executable]).startswith("1.")


def test_missing_livekit_agents_says_what_to_install(tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    with pytest.raises(LaunchError) as e:
        check_agents_installed([python])
    assert f"livekit-agents is not installed for {python}" in str(e.value)
    assert f"{python} -m pip install 'livekit-agents>=1.6'" in str(e.value)


def test_spec_command_passes_extra_args(tmp_path: Path) -> None:
    spec = AgentSpec(tmp_path / "agent.py", tmp_path, ["py"], ("--flag", "x"))
    assert spec.command(4242) == [
        "py", "-m", "livekit.agents", "console", str(tmp_path / "agent.py"),
        "--connect-addr", "127.0.0.1:4242", "--flag", "x",
    ]  # fmt: skip
