"""Shared fixtures: an isolated parley home, and the real CLI run as a subprocess.

End-to-end tests drive the real ``parley`` console script against real
livekit-agents agents from ``testdata/agents`` (only the model is scripted).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# A suite started in the background of a non-interactive shell (`cmd &`) inherits SIGINT
# ignored, and so would every parley it runs, which then never sees Ctrl+C: the tests
# that press it need it delivered. A handled signal is reset to the default on exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
AGENTS = ROOT / "testdata" / "agents"
#: the bundled demo agent (shipped in the package: app/demo/)
DEMO = ROOT / "app" / "demo" / "agent.py"
SCRIPTED_LLM = ROOT / "app" / "demo" / "scripted_llm.py"
ECHO = AGENTS / "echo.py"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop early when the editable install lacks a module of this tree: it links files
    (setuptools strict mode), so a module added since the install is not importable."""
    try:
        import parley.app
    except ImportError as e:
        pytest.exit(f"parley is not installed here ({e}): run `pip install -e '.[dev]'`", 4)
    installed = Path(parley.app.__file__).parent.parent
    missing = [
        str(f.relative_to(ROOT))
        for pkg in ("app", "widgets", "headless")
        for f in (ROOT / pkg).rglob("*.py")
        if not (installed / f.relative_to(ROOT)).exists()
    ]
    if missing:
        pytest.exit(
            f"parley's install in {installed} lacks {', '.join(missing)}: "
            "run `uv pip install -e '.[dev]'` (or pip) again",
            returncode=4,
        )


def parley_exe() -> list[str]:
    """The installed console script next to this interpreter (else ``-m parley.app.cli``)."""
    exe = Path(sys.executable).with_name("parley")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "parley.app.cli"]


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


def processes_of(home: Path) -> list[int]:
    """Pids of the live processes started for the parley home ``home`` (daemons, agents
    and what they spawned: their environment names it as ``PARLEY_HOME``), this test
    process aside. Unlike a ``pgrep`` of a command line, another test's or another
    checkout's processes never match."""
    import psutil

    pids = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if proc.environ().get("PARLEY_HOME") == str(home):
                pids.append(proc.pid)
        except psutil.Error:
            continue  # gone, or another user's
    return pids


@pytest.fixture
def parley_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private PARLEY_HOME for this test (state, logs and recordings)."""
    home = tmp_path / "parley-home"
    home.mkdir()
    monkeypatch.setenv("PARLEY_HOME", str(home))
    monkeypatch.setenv("NO_COLOR", "1")
    return home


class Parley:
    """Runs ``parley`` subcommands with a given PARLEY_HOME and cwd."""

    def __init__(self, home: Path, cwd: Path = ROOT) -> None:
        self.home = home
        self.cwd = cwd
        self.env = {**os.environ, "PARLEY_HOME": str(home), "NO_COLOR": "1"}
        self.env.pop("PARLEY_SESSION", None)

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 90, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [*parley_exe(), *args],
            cwd=self.cwd,
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"parley {' '.join(args)} exited {proc.returncode}\n"
                f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*parley_exe(), *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def stop_quietly(self) -> None:
        """Teardown: stop whatever session this home may still run."""
        self("stop", timeout=60)


@pytest.fixture
def parley(parley_home: Path) -> Iterator[Parley]:
    """The real CLI in an isolated home; any session left running is stopped."""
    p = Parley(parley_home)
    yield p
    p.stop_quietly()


@pytest.fixture(scope="module")
def demo_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parley]:
    """One running session of the demo agent shared by a module's tests."""
    home = tmp_path_factory.mktemp("parley-home")
    p = Parley(home)
    p("start", str(DEMO), check=True)
    yield p
    p.stop_quietly()


def copy_agent(src: Path, dest_dir: Path) -> Path:
    """Copy a testdata agent (and the scripted LLM it imports, the module itself, not
    testdata's re-export) into ``dest_dir``."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(SCRIPTED_LLM, dest_dir / "scripted_llm.py")
    dest = dest_dir / src.name
    # the packaged demo imports its model from parley; a copy runs in environments
    # without parley (a project's own .venv), so it imports the copied sibling
    text = src.read_text(encoding="utf-8")
    dest.write_text(
        text.replace("from parley.app.demo.scripted_llm import", "from scripted_llm import"),
        encoding="utf-8",
    )
    return dest


NODE_AGENT = AGENTS / "node"
MIN_NODE = (20, 0)


def _node_version() -> tuple[int, ...] | None:
    node = os.environ.get("PARLEY_NODE") or shutil.which("node")
    if not node:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        return tuple(int(p) for p in out.stdout.strip().lstrip("v").split(".")[:3])
    except ValueError:
        return None


@pytest.fixture(scope="session")
def node_agent() -> Path:
    """The Node testdata agent (``testdata/agents/node``) with its dependencies
    installed by ``npm ci`` (once per test run, when the lock file changed).

    Skips the test, with the reason in pytest's summary, when Node >= 20 or npm is
    missing (``.ci/run`` checks for Node first, so CI always runs these tests)."""
    version = _node_version()
    if version is None or version < MIN_NODE:
        pytest.skip("Node.js >= 20 is not installed (needed by the Node agent tests)")
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed (needed to install the Node agent's packages)")
    stamp = NODE_AGENT / "node_modules" / ".package-lock.json"
    lock = NODE_AGENT / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_AGENT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"npm ci failed:\n{proc.stdout}\n{proc.stderr}"
    return NODE_AGENT
