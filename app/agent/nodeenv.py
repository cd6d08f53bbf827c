"""Running a Node agent (@livekit/agents >= 1.0): its entry file and the runtime.

An @livekit/agents entry calls ``cli.runApp(...)`` itself, so it runs as
``<runtime> <entry> console --connect-addr 127.0.0.1:<port>`` and dials us like a
Python agent (measured with @livekit/agents 1.9.0 on Node 20; docs/protocol.md).

The runtime, from the entry's suffix: ``.js``/``.mjs``/``.cjs`` run on ``node``;
``.ts``/``.mts``/``.cts`` run on native Node when it strips types by itself (Node >=
23.6, or 22.18+), else with ``--experimental-strip-types`` (Node 22.6+), else with the
project's own ``tsx`` (``node --import tsx``), else ``npx --yes tsx``. Native type
stripping does not map ``import './agent.js'`` to ``agent.ts`` as TypeScript's own
resolution (and tsx) do, so an entry importing its ``.ts`` siblings that way (as
LiveKit's starter template does) goes to tsx. ``$PARLEY_NODE`` overrides the ``node``
binary.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley.app.agent.pyenv import LaunchError

JS_SUFFIXES = (".js", ".mjs", ".cjs")
TS_SUFFIXES = (".ts", ".mts", ".cts")
NODE_SUFFIXES = JS_SUFFIXES + TS_SUFFIXES
#: tried in a Node project after its dev/start script and its package.json "main"
NODE_ENTRY_CANDIDATES = ("src/main.ts", "src/agent.ts", "agent.ts", "agent.js")
MIN_NODE_AGENTS = (1, 0)

_RELATIVE_JS_IMPORT = re.compile(r"""(?:from\s+|import\s*\(?\s*)['"](\.{1,2}/[^'"]+)\.(m?js)['"]""")


def is_node_entry(path: Path) -> bool:
    return path.suffix in NODE_SUFFIXES


def read_package_json(directory: Path) -> dict[str, Any] | None:
    """``directory/package.json`` as a dict (``None`` if missing or unreadable)."""
    try:
        data = json.loads((directory / "package.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def node_entry(directory: Path) -> Path | None:
    """The entry of the Node project in ``directory``: the file its ``dev`` (then
    ``start``) script runs, then its ``main``, then the first of
    :data:`NODE_ENTRY_CANDIDATES` that exists; ``None`` without a ``package.json``."""
    pkg = read_package_json(directory)
    if pkg is None:
        return None
    raw = pkg.get("scripts")
    scripts: dict[str, Any] = raw if isinstance(raw, dict) else {}
    for name in ("dev", "start"):
        found = script_entry(str(scripts.get(name) or ""), directory)
        if found is not None:
            return found
    names = [pkg["main"]] if isinstance(pkg.get("main"), str) else []
    for name in (*names, *NODE_ENTRY_CANDIDATES):
        path = directory / name
        if path.suffix in NODE_SUFFIXES and path.is_file():
            return path
    return None


def script_entry(script: str, directory: Path) -> Path | None:
    """The first existing ``.ts``/``.js``… file named in an npm ``script`` (e.g.
    ``tsx src/main.ts dev`` → ``src/main.ts``)."""
    try:
        words = shlex.split(script)
    except ValueError:
        words = script.split()
    for word in words:
        if word.startswith("-") or Path(word).suffix not in NODE_SUFFIXES:
            continue
        path = directory / word
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class NodeRuntime:
    """The command prefix running the entry (``[node]``, ``[node, --import, tsx]``,
    ``[npx, --yes, tsx]``…), what it is (``label``), Node's version and the
    @livekit/agents version the project has."""

    command: list[str]
    label: str
    node_version: str
    agents_version: str


def node_binary() -> str:
    """``$PARLEY_NODE`` or the ``node`` on PATH. Raises :class:`LaunchError`."""
    node = os.environ.get("PARLEY_NODE") or shutil.which("node")
    if not node:
        raise LaunchError(
            "Node.js is needed to run a Node agent: install Node >= 20 (https://nodejs.org) "
            "or set $PARLEY_NODE to a node binary"
        )
    return node


def node_version(node: str) -> tuple[int, int, int]:
    """``node --version`` as a tuple. Raises :class:`LaunchError`."""
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise LaunchError(f"cannot run {node}: {e}") from None
    m = re.match(r"v(\d+)\.(\d+)\.(\d+)", out.stdout.strip())
    if out.returncode != 0 or m is None:
        raise LaunchError(f"{node} --version printed {out.stdout.strip()!r}; is it Node.js?")
    return int(m[1]), int(m[2]), int(m[3])


def find_package(project: Path, name: str) -> Path | None:
    """The directory of package ``name`` as Node resolves it from ``project``
    (``node_modules`` there or in a parent)."""
    for d in (project, *project.parents):
        pkg = d / "node_modules" / name
        if (pkg / "package.json").is_file():
            return pkg
    return None


def install_command(project: Path, package: str = "") -> str:
    """The install command of the project's package manager (from its lock file);
    with ``package``, the command adding it."""
    for lock, tool in (
        ("pnpm-lock.yaml", "pnpm"),
        ("yarn.lock", "yarn"),
        ("bun.lock", "bun"),
        ("bun.lockb", "bun"),
    ):
        if (project / lock).exists():
            return f"{tool} add {package}" if package else f"{tool} install"
    return f"npm install {package}" if package else "npm install"


def agents_version(project: Path) -> str:
    """The @livekit/agents version installed for ``project``. Raises
    :class:`LaunchError` saying what to run when it is missing or older than 1.0."""
    pkg = find_package(project, "@livekit/agents")
    declared = read_package_json(project) or {}
    deps = {**(declared.get("devDependencies") or {}), **(declared.get("dependencies") or {})}
    if pkg is None:
        cmd = install_command(project, "" if "@livekit/agents" in deps else "@livekit/agents")
        raise LaunchError(f"@livekit/agents is not installed for {project}; run `{cmd}` there")
    version = str((read_package_json(pkg) or {}).get("version", "0"))
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    if parts < MIN_NODE_AGENTS:
        cmd = install_command(project, "@livekit/agents@latest")
        raise LaunchError(
            f"@livekit/agents {version} is too old for text mode (needs >= 1.0); "
            f"run `{cmd}` in {project}"
        )
    return version


def imports_ts_as_js(entry: Path) -> bool:
    """Whether ``entry`` imports a sibling ``x.ts`` as ``./x.js`` (TypeScript's
    convention, which Node's own type stripping does not resolve)."""
    try:
        text = entry.read_text(errors="replace")
    except OSError:
        return False
    for rel, ext in _RELATIVE_JS_IMPORT.findall(text):
        base = entry.parent / rel
        ts = base.with_name(base.name + (".mts" if ext == "mjs" else ".ts"))
        if not base.with_name(base.name + "." + ext).exists() and ts.exists():
            return True
    return False


def choose_node(entry: Path, project: Path) -> NodeRuntime:
    """The runtime for ``entry`` (see the module docstring). Raises
    :class:`LaunchError` naming what to install when none works."""
    node = node_binary()
    version = node_version(node)
    shown = "v" + ".".join(map(str, version))
    agents = agents_version(project)
    if entry.suffix in JS_SUFFIXES:
        return NodeRuntime([node], f"node {shown}", shown, agents)
    if not imports_ts_as_js(entry):
        if version >= (23, 6) or (22, 18) <= version < (23, 0):
            return NodeRuntime([node], f"node {shown} (native TypeScript)", shown, agents)
        if version >= (22, 6):
            return NodeRuntime(
                [node, "--experimental-strip-types"],
                f"node {shown} --experimental-strip-types",
                shown,
                agents,
            )
    if find_package(project, "tsx") is not None and version >= (20, 6):
        return NodeRuntime(
            [node, "--import", "tsx"], f"node {shown} with the project's tsx", shown, agents
        )
    npx = Path(node).with_name("npx")
    npx_cmd = str(npx) if npx.exists() else shutil.which("npx")
    if npx_cmd:
        return NodeRuntime(
            [npx_cmd, "--yes", "tsx"], f"npx --yes tsx (node {shown})", shown, agents
        )
    raise LaunchError(
        f"cannot run the TypeScript entry {entry.name} with Node {shown}: add tsx to the "
        f"project (`{install_command(project, '-D tsx')}`), or use Node >= 23.6"
    )
