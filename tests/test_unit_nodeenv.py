"""Node agents: finding the entry, picking the runtime, checking @livekit/agents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parley.app.agent.launcher import AgentSpec, LaunchError, find_agent_file
from parley.app.agent.nodeenv import choose_node, imports_ts_as_js, node_entry, script_entry


def node_project(root: Path, scripts: dict[str, str] | None = None, **pkg: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps({"name": "x", "scripts": scripts or {}, **pkg}))
    return root


def touch(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def installed(project: Path, name: str, version: str) -> None:
    touch(project / "node_modules" / name / "package.json", json.dumps({"version": version}))


@pytest.fixture
def fake_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Make ``$PARLEY_NODE`` a script printing the given version (and an npx beside it)."""

    def make(version: str, npx: bool = True) -> Path:
        bindir = tmp_path / f"node-{version}"
        node = touch(bindir / "node", f"#!/bin/sh\necho v{version}\n")
        node.chmod(0o755)
        if npx:
            touch(bindir / "npx", "#!/bin/sh\n").chmod(0o755)
        monkeypatch.setenv("PARLEY_NODE", str(node))
        monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
        return node

    return make


def test_entry_from_dev_script_then_start_main_and_candidates(tmp_path: Path) -> None:
    proj = node_project(tmp_path / "p", {"dev": "tsx src/main.ts dev", "start": "node dist/x.js"})
    assert node_entry(proj) is None  # the named file does not exist, nor any candidate
    main = touch(proj / "src" / "main.ts")
    assert node_entry(proj) == main
    built = touch(proj / "dist" / "x.js")
    (proj / "src" / "main.ts").unlink()
    assert node_entry(proj) == built  # the start script's file
    proj2 = node_project(tmp_path / "q", main="lib/agent.mjs")
    touch(proj2 / "agent.js")
    assert node_entry(proj2) == proj2 / "agent.js"
    touch(proj2 / "lib" / "agent.mjs")
    assert node_entry(proj2) == proj2 / "lib" / "agent.mjs"
    assert script_entry("pnpm run build && node dist/main.js dev", proj) is None


def test_python_candidates_come_first_then_the_node_project(tmp_path: Path) -> None:
    proj = node_project(tmp_path / "p", {"dev": "tsx src/main.ts dev"})
    main = touch(proj / "src" / "main.ts")
    assert find_agent_file(None, proj / "src") == main  # from src/, walking up
    agent_py = touch(proj / "agent.py")
    assert find_agent_file(None, proj / "src") == agent_py


def test_ts_entry_importing_js_siblings_needs_tsx(tmp_path: Path) -> None:
    main = touch(tmp_path / "src" / "main.ts", "import { A } from './agent.js';\n")
    assert not imports_ts_as_js(main)  # no agent.ts either
    touch(tmp_path / "src" / "agent.ts")
    assert imports_ts_as_js(main)
    touch(tmp_path / "src" / "agent.js")
    assert not imports_ts_as_js(main)  # a real .js file: Node resolves it


def test_runtime_for_each_node_version(tmp_path: Path, fake_node) -> None:
    proj = node_project(tmp_path / "p", dependencies={"@livekit/agents": "^1.9.0"})
    installed(proj, "@livekit/agents", "1.9.0")
    js = touch(proj / "agent.mjs")
    ts = touch(proj / "src" / "main.ts", "export {};\n")
    node = str(fake_node("20.20.2"))
    assert choose_node(js, proj).command == [node]
    assert choose_node(ts, proj).command == [str(Path(node).with_name("npx")), "--yes", "tsx"]
    installed(proj, "tsx", "4.20.0")
    assert choose_node(ts, proj).command == [node, "--import", "tsx"]
    node = str(fake_node("22.10.0"))
    assert choose_node(ts, proj).command == [node, "--experimental-strip-types"]
    node = str(fake_node("24.1.0"))
    rt = choose_node(ts, proj)
    assert rt.command == [node] and rt.agents_version == "1.9.0"
    # the template's `import './agent.js'` of agent.ts: native stripping cannot resolve it
    touch(proj / "src" / "agent.ts")
    ts.write_text("import { Assistant } from './agent.js';\n")
    assert choose_node(ts, proj).command == [node, "--import", "tsx"]


def test_no_way_to_run_typescript_says_what_to_install(tmp_path: Path, fake_node) -> None:
    proj = node_project(tmp_path / "p")
    (proj / "pnpm-lock.yaml").write_text("")
    installed(proj, "@livekit/agents", "1.9.0")
    ts = touch(proj / "src" / "main.ts")
    fake_node("20.20.2", npx=False)
    with pytest.raises(LaunchError, match=r"add tsx to the project \(`pnpm add -D tsx`\)"):
        choose_node(ts, proj)


def test_missing_or_old_agents_package_says_what_to_run(tmp_path: Path, fake_node) -> None:
    fake_node("20.20.2")
    proj = node_project(tmp_path / "p", dependencies={"@livekit/agents": "^1.9.0"})
    js = touch(proj / "agent.mjs")
    with pytest.raises(LaunchError, match=r"not installed for .*; run `npm install` there"):
        choose_node(js, proj)
    (proj / "package.json").write_text("{}")
    (proj / "yarn.lock").write_text("")
    with pytest.raises(LaunchError, match=r"run `yarn add @livekit/agents` there"):
        choose_node(js, proj)
    installed(proj, "@livekit/agents", "0.7.9")
    with pytest.raises(
        LaunchError, match=r"0\.7\.9 is too old .*needs >= 1\.0.*`yarn add @livekit/agents@latest`"
    ):
        choose_node(js, proj)


def test_no_node_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARLEY_NODE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    proj = node_project(tmp_path / "p")
    with pytest.raises(LaunchError, match=r"Node\.js is needed .* or set \$PARLEY_NODE"):
        choose_node(touch(proj / "agent.js"), proj)


def test_node_spec_command_and_root(tmp_path: Path, fake_node) -> None:
    node = str(fake_node("20.20.2"))
    proj = node_project(tmp_path / "p", {"dev": "node agent.mjs dev"})
    installed(proj, "@livekit/agents", "1.9.0")
    entry = touch(proj / "agent.mjs")
    spec = AgentSpec.resolve(None, proj, ("--x",))
    assert (spec.agent_file, spec.project, spec.kind) == (entry, proj, "node")
    assert spec.command(4242) == [
        node, str(entry), "console", "--connect-addr", "127.0.0.1:4242", "--x",
    ]  # fmt: skip
    assert spec.runtime_line == f"{node} (node v20.20.2, @livekit/agents 1.9.0)"
    # watch mode's warm spare is a Python interpreter: it never takes a Node agent
    from parley.app.agent.spare import supports

    assert spec.python == [] and not supports(spec)
