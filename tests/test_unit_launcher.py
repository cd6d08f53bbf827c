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
)
from parley.app.agent.pyenv import choose_python
from parley.app.daemon.state import session_key
from parley.app.home import project_root


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


def fake_venv(path: Path, agents: str | None = None) -> Path:
    """A virtualenv layout: ``bin/python`` and, with ``agents``, livekit-agents' dist-info."""
    python = fake_python(path / "bin" / "python")
    if agents is not None:
        (
            path / "lib" / "python3.11" / "site-packages" / f"livekit_agents-{agents}.dist-info"
        ).mkdir(parents=True)
    return python


@pytest.fixture
def no_uv_no_venv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")  # no uv
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)


def test_project_venv_wins_over_virtual_env_without_agents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_uv_no_venv: None
) -> None:
    proj = tmp_path / "proj"
    dotvenv = fake_venv(proj / ".venv", "1.8.9")
    other = tmp_path / "other"
    fake_venv(other)
    monkeypatch.setenv("VIRTUAL_ENV", str(other))
    env = choose_python(proj)
    assert env.command == [str(dotvenv)]
    assert env.label == "the project's .venv" and env.agents_version == "1.8.9"
    assert env.note == f"$VIRTUAL_ENV ({other}) has no livekit-agents"


def test_virtual_env_with_agents_is_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_uv_no_venv: None
) -> None:
    proj = tmp_path / "proj"
    fake_venv(proj / ".venv", "1.8.9")
    active = fake_venv(tmp_path / "active", "1.7.0")
    monkeypatch.setenv("VIRTUAL_ENV", str(active.parent.parent))
    env = choose_python(proj)
    assert env.command == [str(active)] and env.note == ""
    assert env.label.startswith("$VIRTUAL_ENV")


def test_venv_then_dotvenv_order_and_parleys_own_python(
    tmp_path: Path, no_uv_no_venv: None
) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    assert choose_python(proj).command == [sys.executable]  # no environment of its own
    venv = fake_venv(proj / "venv", "1.8.9")
    assert choose_python(proj).command == [str(venv)]
    dotvenv = fake_venv(proj / ".venv", "1.8.9")
    assert choose_python(proj).command == [str(dotvenv)]


def test_project_venv_without_agents_is_not_replaced_by_parleys_python(
    tmp_path: Path, no_uv_no_venv: None
) -> None:
    proj = tmp_path / "proj"
    dotvenv = fake_venv(proj / ".venv")
    (proj / "requirements.txt").write_text("livekit-agents\n")
    with pytest.raises(LaunchError) as e:
        choose_python(proj)
    assert f"the project's .venv ({dotvenv})" in str(e.value)
    assert f"{dotvenv} -m pip install -r {proj / 'requirements.txt'}" in str(e.value)
    assert "parley" not in str(e.value)


def test_too_old_agents_says_upgrade(tmp_path: Path, no_uv_no_venv: None) -> None:
    proj = tmp_path / "proj"
    dotvenv = fake_venv(proj / ".venv", "1.5.2")
    with pytest.raises(
        LaunchError, match=r"livekit-agents 1\.5\.2 in the project's \.venv is too old"
    ):
        choose_python(proj)
    assert dotvenv.exists()


def test_uv_project_before_sync_says_uv_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_uv_no_venv: None
) -> None:
    monkeypatch.delenv("UV_PROJECT_ENVIRONMENT", raising=False)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "uv.lock").write_text("")
    with pytest.raises(LaunchError) as e:  # uv is not installed here
        choose_python(proj)
    assert f"install uv (`pip install uv`), then run `uv sync` in {proj}" in str(e.value)


def test_uv_project_uses_uv_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    uv = fake_python(bindir / "uv")
    uv.write_text("#!/bin/sh\necho 1.8.9\n")
    uv.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "pyproject.toml").write_text("[project]\nname='x'\n\n[tool.uv]\n")
    with pytest.raises(LaunchError, match="run `uv sync` in"):  # no .venv yet: not synced
        choose_python(proj)
    monkeypatch.setenv("UV_PROJECT_ENVIRONMENT", str(tmp_path / "elsewhere"))
    env = choose_python(proj)
    assert env.command == ["uv", "run", "--project", str(proj), "--no-sync", "python"]
    assert env.label == "uv run (a uv project)"


def test_root_rule_markers_and_cwd_fallback(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    (proj / "src").mkdir(parents=True)
    agent = proj / "src" / "agent.py"
    agent.write_text("")
    # no marker at all: the directory start ran in, when the agent is below it
    assert project_root(agent, cwd=proj) == proj
    assert project_root(agent, cwd=tmp_path / "elsewhere") == proj / "src"
    for marker in (".venv", "package.json", "uv.lock"):
        path = proj / marker
        path.mkdir() if marker == ".venv" else path.write_text("{}")
        assert project_root(agent) == proj, marker
        path.rmdir() if marker == ".venv" else path.unlink()


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


def test_the_hint_for_a_missing_agent_names_its_session_and_command(tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match=r"name the agent file: parley start path/to/agent\.py"):
        find_agent_file(None, tmp_path)
    with pytest.raises(LaunchError, match=r": parley start -s two path/to/agent\.py"):
        find_agent_file(None, tmp_path, session="two")
    with pytest.raises(LaunchError, match=r": parley chat -s 'my one' path/to/agent\.py"):
        AgentSpec.resolve(None, tmp_path, session="my one", command="chat")
