"""End to end: a session nobody else takes over, that nothing wedges and no input
crashes. Real CLI, real daemon, real livekit-agents agents (only the model is
scripted)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ECHO, Parley, copy_agent

pytestmark = pytest.mark.e2e

# Another local user's view: find the agent's port in its command line (as `ps` shows
# it) and dial it first. Prints "connected", then "refused" if parley closes the
# connection without sending a byte, or what it received.
RACER = textwrap.dedent(
    """
    import re, socket, sys, time
    import psutil
    agent = sys.argv[1]
    seen = set()
    while True:
        for p in psutil.process_iter(["cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            m = re.search(r"--connect-addr 127\\.0\\.0\\.1:(\\d+)", cmd)
            if m and agent in cmd and m.group(1) not in seen:
                seen.add(m.group(1))
                try:
                    s = socket.create_connection(("127.0.0.1", int(m.group(1))))
                except OSError:
                    continue
                print("connected", flush=True)
                s.settimeout(60)
                data = s.recv(65536)
                print("refused" if not data else "got %d bytes" % len(data), flush=True)
                sys.exit(0)
        time.sleep(0.005)
    """
)


def _state(parley: Parley) -> dict:
    return json.loads(next((parley.home / "run").glob("*/state.json")).read_text())


def test_a_local_process_racing_the_agent_to_its_port_is_refused(
    parley_home: Path, tmp_path: Path
) -> None:
    agent = copy_agent(ECHO, tmp_path / "proj")
    p = Parley(parley_home, cwd=agent.parent)
    racer = subprocess.Popen(
        [sys.executable, "-c", RACER, str(agent)], stdout=subprocess.PIPE, text=True
    )
    try:
        p("start", str(agent), check=True)
        assert racer.stdout is not None
        assert racer.stdout.readline().strip() == "connected"  # it was there first
        assert racer.stdout.readline().strip() == "refused"  # and got nothing
        assert p("say", "hi", check=True).stdout.endswith("echo: hi\n")
        log = Path(_state(p)["daemon_log"]).read_text()
        assert "refused a connection to the agent port" in log
    finally:
        racer.kill()
        racer.wait()
        p.stop_quietly()


NASTY = "hi \x1b]0;pwned\x07\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07 there"
SHOWN = "hi \\x1b]0;pwned\\x07\\x1b[2J\\x1b]52;c;cm0gLXJmIH4=\\x07 there"


def _raw_controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


def test_escape_sequences_from_the_agent_never_reach_the_terminal(
    parley_home: Path, tmp_path: Path
) -> None:
    agent = copy_agent(ECHO, tmp_path / "proj")
    p = Parley(parley_home, cwd=agent.parent)
    try:
        p("start", str(agent), check=True)
        said = p("say", NASTY, check=True).stdout
        assert said.count(SHOWN) == 2  # the user's text and the agent's echo
        outputs = [said, p("history", check=True).stdout, p("events", check=True).stdout]
        as_json = p("say", "--json", NASTY, check=True).stdout
        texts = [json.loads(line).get("text") for line in as_json.splitlines()]
        assert NASTY in texts and f"echo: {NASTY}" in texts  # --json: the exact text
        p("stop", check=True)
        outputs.append(p("replay", "--headless", "--speed", "0", check=True).stdout)
        outputs.append(p("export", "--format", "md", check=True).stdout)
        for out in outputs:
            assert SHOWN in out
            assert not _raw_controls(out)
    finally:
        p.stop_quietly()
