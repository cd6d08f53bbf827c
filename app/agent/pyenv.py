"""Which Python runs a livekit-agents agent, and what to install when none can.

The rule (README "Python projects"): the environments that could run the agent are,
in order, ``$VIRTUAL_ENV``; the project's own ``.venv`` or ``venv``; for a uv project
(``uv.lock``, or ``[tool.uv]`` in ``pyproject.toml``) with no such directory, ``uv run
--no-sync python``; and parley's own Python only when the project has no environment of
its own. The first of them that has livekit-agents >= 1.6 runs the agent: an active
virtualenv is honoured when it can run the agent, and otherwise the project's working
environment wins over it (the chosen one says why). ``uv run`` is only asked when
``$UV_PROJECT_ENVIRONMENT`` puts a uv project's environment elsewhere than ``.venv``
(without it, ``uv run`` would create an empty ``.venv``). When none can, the error gives the
install command that fits the project: ``uv sync`` for a uv project, ``pip install -r
requirements.txt`` into the project's environment, else ``pip install livekit-agents``.

A virtualenv is checked on disk (its ``site-packages`` holds
``livekit_agents-<version>.dist-info``), with no subprocess; ``uv run`` and an unknown
interpreter are asked for ``importlib.metadata.version('livekit-agents')``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from parley.app.errors import ParleyError

MIN_AGENTS_VERSION = (1, 6)


class LaunchError(ParleyError):
    """The agent cannot be found, checked or started; the message says what to do."""


@dataclass(frozen=True)
class PythonEnv:
    """A Python that can run the agent: the command prefix (``[python]`` or ``uv run …
    python``), where it comes from (``label``, e.g. ``the project's .venv``), the
    livekit-agents version installed there, and why an earlier one was passed over
    (``note``, '' if none was)."""

    command: list[str]
    label: str
    agents_version: str
    note: str = ""


@dataclass(frozen=True)
class _Candidate:
    command: list[str]
    label: str
    venv: Path | None  # checked on disk when set


def _bin(venv: Path) -> Path:
    return (
        venv
        / ("Scripts" if os.name == "nt" else "bin")
        / ("python.exe" if os.name == "nt" else "python")
    )


def is_uv_project(project: Path) -> bool:
    """``uv.lock`` in the project, or ``[tool.uv]`` in its ``pyproject.toml``."""
    if (project / "uv.lock").exists():
        return True
    try:
        return "[tool.uv]" in (project / "pyproject.toml").read_text()
    except OSError:
        return False


def _candidates(project: Path) -> Iterator[_Candidate]:
    seen: set[Path] = set()
    active = os.environ.get("VIRTUAL_ENV")
    if active and _bin(Path(active)).exists():
        seen.add(Path(active).resolve())
        yield _Candidate([str(_bin(Path(active)))], f"$VIRTUAL_ENV ({active})", Path(active))
    own = False
    for name in (".venv", "venv"):
        venv = project / name
        if _bin(venv).exists():
            own = True
            if venv.resolve() not in seen:
                yield _Candidate([str(_bin(venv))], f"the project's {name}", venv)
    uv_project = is_uv_project(project)
    # uv keeps the environment in .venv (checked above) unless UV_PROJECT_ENVIRONMENT
    # moves it; only then ask `uv run` (which would create an empty .venv otherwise)
    if not own and uv_project and os.environ.get("UV_PROJECT_ENVIRONMENT") and shutil.which("uv"):
        own = True
        yield _Candidate(
            ["uv", "run", "--project", str(project), "--no-sync", "python"],
            "uv run (a uv project)",
            None,
        )
    if not own and not uv_project:
        yield _Candidate([sys.executable], "parley's own Python", None)


def venv_agents_version(venv: Path) -> str | None:
    """The livekit-agents version installed in virtualenv ``venv`` (read from its
    ``.dist-info`` directory name), or ``None``."""
    pattern = "Lib/site-packages" if os.name == "nt" else "lib/python3*/site-packages"
    for site in sorted(venv.glob(pattern)):
        for dist in site.glob("livekit_agents-*.dist-info"):
            return dist.name[len("livekit_agents-") : -len(".dist-info")]
    return None


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:2] if p.isdigit())


def choose_python(project: Path) -> PythonEnv:
    """The environment that runs the agent of ``project`` (see the module docstring).

    Raises :class:`LaunchError` naming the environments checked and the command that
    installs livekit-agents the way the project expects.
    """
    checked: list[tuple[_Candidate, str | None]] = []
    for cand in _candidates(project):
        if cand.venv is not None:
            version = venv_agents_version(cand.venv)
        else:
            version = installed_version(cand.command)
        checked.append((cand, version))
        if version is not None and _version_tuple(version) >= MIN_AGENTS_VERSION:
            skipped = [
                f"{c.label} has {'livekit-agents ' + v if v else 'no livekit-agents'}"
                for c, v in checked[:-1]
            ]
            return PythonEnv(cand.command, cand.label, version, "; ".join(skipped))
    advice = install_advice(project, [c for c, _ in checked])
    old = [(c, v) for c, v in checked if v is not None]
    if old:
        cand, version = old[0]
        raise LaunchError(
            f"livekit-agents {version} in {cand.label} is too old for text mode "
            f"(needs >= 1.6); {advice}"
        )
    where = ", ".join(f"{c.label} ({' '.join(c.command)})" for c, _ in checked)
    raise LaunchError(f"livekit-agents is not installed in {where or 'any environment'}; {advice}")


def install_advice(project: Path, checked: list[_Candidate]) -> str:
    """What to run so the project's environment has livekit-agents."""
    if is_uv_project(project):
        if shutil.which("uv"):
            return f"run `uv sync` in {project}"
        return f"install uv (`pip install uv`), then run `uv sync` in {project}"
    own = [c for c in checked if c.venv is not None and c.venv.parent == project]
    target = (own or checked or [_Candidate([sys.executable], "", None)])[0].command[0]
    if (project / "requirements.txt").exists():
        if not own:
            return (
                f"create the project's environment: cd {project} && python3 -m venv .venv "
                "&& .venv/bin/pip install -r requirements.txt"
            )
        return f"install the project's requirements: {target} -m pip install -r " + str(
            project / "requirements.txt"
        )
    return f"install it with: {target} -m pip install 'livekit-agents>=1.6'"


def installed_version(python: list[str]) -> str | None:
    """The livekit-agents version importable by the command ``python`` (metadata only:
    ``import livekit.agents`` takes seconds), ``None`` if it is not installed.

    Raises :class:`LaunchError` when the command cannot run at all.
    """
    if len(python) == 1 and _same_file(python[0], sys.executable):
        from importlib.metadata import PackageNotFoundError, version

        try:  # our own interpreter: no need for a subprocess
            return version("livekit-agents")
        except PackageNotFoundError:
            return None
    code = "import importlib.metadata as m; print(m.version('livekit-agents'))"
    try:
        out = subprocess.run([*python, "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LaunchError(f"cannot run the agent's Python ({' '.join(python)}): {e}") from None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _same_file(a: str, b: str) -> bool:
    # not samefile(): every venv's python links to the same base binary, but each
    # venv has its own site-packages
    return os.path.abspath(a) == os.path.abspath(b)
