"""Python projects as LiveKit's starter template lays them out, through the real CLI: a uv
project before and after ``uv sync``, a ``.venv`` with no ``pyproject.toml``, and a
``$VIRTUAL_ENV`` pointing at another environment. The agent is the demo agent copied to
``src/agent.py``; its environment is a real one made by ``uv sync``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import AGENTS, DEMO, Parley, copy_agent, wait_until

pytestmark = pytest.mark.e2e

PYPROJECT = """\
[project]
name = "agent-starter-python"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["livekit-agents==1.8.9"]

[tool.uv]
package = false
"""


def uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(found).exists():
        pytest.fail("uv is not installed: it is in the dev extra (pip install -e '.[dev]')")
    return found


def template(root: Path) -> Path:
    """A project in the Python template's layout, before ``uv sync``."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT)
    copy_agent(DEMO, root / "src").rename(root / "src" / "agent.py")
    (root / ".env.local").write_text("LIVEKIT_URL=ws://localhost:7880\n")
    return root


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template project after ``uv sync`` (its ``.venv`` has livekit-agents 1.8.9)."""
    root = template(tmp_path_factory.mktemp("uv") / "agent-starter-python")
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    proc = subprocess.run(
        [uv(), "sync", "--python", sys.executable],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"uv sync failed:\n{proc.stderr}"
    assert (root / ".venv" / "bin" / "python").exists()
    return root


def cli(home: Path, cwd: Path, virtual_env: Path | None = None) -> Parley:
    p = Parley(home, cwd)
    p.env.pop("VIRTUAL_ENV", None)
    p.env.pop("UV_PROJECT_ENVIRONMENT", None)
    if virtual_env is not None:
        p.env["VIRTUAL_ENV"] = str(virtual_env)
    return p


@pytest.fixture
def home(parley_home: Path) -> Iterator[Path]:
    yield parley_home
    # stop every session this home runs, from its own project (a `stop` elsewhere finds
    # none, and the agent would run on)
    for state_file in (parley_home / "run").glob("*/state.json"):
        st = json.loads(state_file.read_text())
        args = ("stop", "-s", st["name"]) if st.get("name") else ("stop",)
        Parley(parley_home, cwd=Path(st["project"]))(*args, timeout=60)


def agent_cwd(p: Parley) -> Path:
    st = json.loads(p("status", "--json", check=True).stdout)
    return Path(os.readlink(f"/proc/{st['agent_pid']}/cwd"))


def test_uv_project_before_sync_says_uv_sync(tmp_path: Path, home: Path) -> None:
    root = template(tmp_path / "fresh-clone")
    p = cli(home, root)
    proc = p("start")
    assert proc.returncode == 1
    assert f"run `uv sync` in {root}" in proc.stderr, proc.stderr
    assert "pip install" not in proc.stderr
    assert not (root / ".venv").exists()  # parley created no environment


def test_after_sync_the_projects_venv_wins_over_another_virtual_env(
    synced: Path, tmp_path: Path, home: Path
) -> None:
    other = tmp_path / "other-env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(other)], check=True)
    p = cli(home, synced, virtual_env=other)
    started = p("start", check=True)
    python = synced / ".venv" / "bin" / "python"
    assert f"Agent file: {synced / 'src' / 'agent.py'}" in started.stdout
    assert (
        f"Runtime:    {python} (the project's .venv, livekit-agents 1.8.9; "
        f"$VIRTUAL_ENV ({other}) has no livekit-agents)"
    ) in started.stdout
    assert "● agent: concierge" in started.stdout
    # the agent runs in the project root (where .env.local is), not in src/
    assert agent_cwd(p) == synced
    said = cli(home, synced / "src")("say", "what's the weather in Paris?", check=True)
    assert "The weather in Paris is sunny" in said.stdout
    status = p("status", check=True).stdout
    assert f"runtime:          {python} (the project's .venv" in status


def test_venv_without_pyproject_roots_the_project(synced: Path, tmp_path: Path, home: Path) -> None:
    root = tmp_path / "plain"
    copy_agent(DEMO, root / "src").rename(root / "src" / "agent.py")
    (root / ".venv").symlink_to(synced / ".venv")
    p = cli(home, root)
    started = p("start", check=True)  # no pyproject.toml: .venv marks the root
    assert f"Runtime:    {root / '.venv' / 'bin' / 'python'} (the project's .venv" in started.stdout
    said = p("say", "look up booking ABC123", check=True)  # from the root, as start was
    assert "Your booking ABC123 is two nights" in said.stdout
    assert agent_cwd(p) == root
    st = cli(home, root / "src")("status", check=True).stdout
    assert f"project:          {root}\n" in st


def test_recoverable_stt_errors_are_recorded_not_printed(parley: Parley) -> None:
    """The template's STT retrying an unreachable service (testdata/agents/stt_unreachable.py):
    its recoverable errors reach the JSON and status, never a turn's text."""
    started = parley("start", str(AGENTS / "stt_unreachable.py"), check=True)
    assert "stt_error" not in started.stdout

    def errors() -> int:
        return json.loads(parley("status", "--json", check=True).stdout)["background_errors"]

    wait_until(lambda: errors() >= 2, timeout=60)
    said = parley("say", "hello", check=True)
    assert "echo: hello" in said.stdout and "stt_error" not in said.stdout
    assert "✗" not in said.stdout
    seen = errors()
    wait_until(lambda: errors() > seen, timeout=60)
    out = parley("say", "--json", "again", check=True).stdout
    objs = [json.loads(ln) for ln in out.splitlines()]
    quiet = [o for o in objs if o["type"] == "agent_error"]
    assert quiet and all(o["background"] is True for o in quiet)
    assert quiet[0]["message"] == "speech-to-text error: cannot reach the STT service"
    assert quiet[0]["kind"] == "stt_error" and "recoverable=True" in quiet[0]["detail"]
    assert objs[-1]["type"] == "turn_finished" and objs[-1]["status"] == "ok"
    assert "background errors:" in parley("status", check=True).stdout
