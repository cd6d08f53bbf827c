"""End to end: a session nobody else takes over, that nothing wedges and no input
crashes. Real CLI, real daemon, real livekit-agents agents (only the model is
scripted)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import psutil
import pytest
from conftest import ECHO, Parley, copy_agent, wait_until

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


def _line_within(stream: IO[str], seconds: float, what: str) -> str:
    """The next line of ``stream`` (a pipe), failing clearly when none comes within
    ``seconds``: the read runs in a daemon thread, so a silent process cannot hang the
    test."""
    got: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: got.put(stream.readline()), daemon=True).start()
    try:
        return got.get(timeout=seconds).strip()
    except queue.Empty:
        raise AssertionError(f"no line within {seconds} s: {what}") from None


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
        # it was there first (`start` has returned: the agent connected, so a racer
        # that has not connected by now lost the race and the test proves nothing)
        first = _line_within(racer.stdout, 60, "the racer never reached the agent port")
        assert first == "connected"
        # and got nothing (the racer itself gives up after 60 s)
        assert _line_within(racer.stdout, 120, "the racer's connection was not closed") == (
            "refused"
        )
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


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parley]:
    """One echo session shared by the control-channel tests of this module."""
    home = tmp_path_factory.mktemp("parley-home")
    agent = copy_agent(ECHO, tmp_path_factory.mktemp("proj") / "proj")
    p = Parley(home, cwd=agent.parent)
    p("start", str(agent), check=True)
    yield p
    p.stop_quietly()


def _raw_request(state: dict, *lines: bytes) -> list[dict]:
    """Send ``lines`` on one control connection; the daemon's answers."""
    with socket.create_connection(("127.0.0.1", state["control_port"]), timeout=30) as s:
        s.sendall(b"".join(lines))
        s.shutdown(socket.SHUT_WR)
        return [json.loads(x) for x in s.makefile("rb").read().splitlines()]


def test_odd_requests_get_clear_errors_and_never_crash_the_daemon(echo: Parley) -> None:
    st = _state(echo)
    auth = json.dumps({"token": st["token"]}).encode() + b"\n"
    items_before = json.loads(echo("status", "--json", check=True).stdout)["items"]
    # a non-ASCII token (hmac.compare_digest raised TypeError on str)
    assert _raw_request(st, '{"token": "üü", "op": "status"}\n'.encode()) == [
        {"event": "error", "error": "unauthorized", "kind": "auth"}
    ]
    cases = {
        b'{"op": "say", "text": null}': "`text` must be a string",
        b'{"op": "say", "text": ["a", "list"]}': "`text` must be a string",
        b'{"op": "events", "since": Infinity}': "not a JSON number",
        b'{"op": "events", "since": "5"}': "`since` must be a whole number",
        b"[" * 100_000 + b"]" * 100_000: "nested too deeply",
        b'{"op": 42}': "unknown op",
    }
    # the request after the token line, or in the same line as the token
    one_line = auth[:-2] + b', "op": "say", "text": null}\n'
    for lines, error in [
        *(((auth, k + b"\n"), v) for k, v in cases.items()),
        ((one_line,), "`text`"),
    ]:
        answer = _raw_request(st, *lines)
        assert len(answer) == 1 and answer[0]["event"] == "error", (lines[-1][:40], answer)
        assert error in answer[0]["error"] and answer[0]["kind"] == "request"
    # nothing ran ("None" used to be sent as a turn) and the daemon serves on
    assert json.loads(echo("status", "--json", check=True).stdout)["items"] == items_before
    assert echo("say", "still here?", check=True).stdout.endswith("echo: still here?\n")


def _rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def test_a_connection_flood_is_bounded_and_the_session_keeps_serving(echo: Parley) -> None:
    st = _state(echo)
    daemon_log = Path(st["daemon_log"])
    log_before = daemon_log.stat().st_size
    rss_before = _rss(st["daemon_pid"])
    port = st["control_port"]
    idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(300)]
    heavy = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(20)]
    try:
        chunk = b"x" * (1 << 20)
        for s in heavy:  # 4 MiB each, no newline, before any token
            s.setblocking(False)
            for _ in range(4):
                with contextlib.suppress(BlockingIOError, ConnectionError):
                    s.send(chunk)
        # an authenticated client is served in the middle of the flood
        assert echo("say", "through the flood", check=True).stdout.endswith(
            "echo: through the flood\n"
        )
        # every unauthenticated connection is closed by the daemon (2 s to show a token)
        for s in idle + heavy:
            s.setblocking(True)
            s.settimeout(30)
            with contextlib.suppress(ConnectionError):
                while s.recv(65536):
                    pass
        assert _rss(st["daemon_pid"]) - rss_before < 40 * 1024 * 1024
        assert daemon_log.stat().st_size - log_before < 256 * 1024
    finally:
        for s in idle + heavy:
            s.close()
    assert echo("say", "after the flood", check=True).stdout.endswith("echo: after the flood\n")


@pytest.mark.skipif(not hasattr(psutil.Process, "rlimit"), reason="needs prlimit (Linux)")
def test_accept_errors_from_a_descriptor_shortage_are_logged_rate_limited(echo: Parley) -> None:
    st = _state(echo)
    daemon = psutil.Process(st["daemon_pid"])
    daemon_log = Path(st["daemon_log"])
    log_before = daemon_log.stat().st_size
    limits = daemon.rlimit(psutil.RLIMIT_NOFILE)
    open_now = daemon.num_fds()
    daemon.rlimit(psutil.RLIMIT_NOFILE, (open_now + 20, limits[1]))
    socks = []
    try:
        socks = [socket.create_connection(("127.0.0.1", st["control_port"])) for _ in range(90)]
        # the daemon runs out of descriptors, backs off, and closes the idle ones
        for s in socks:
            s.settimeout(30)
            with contextlib.suppress(ConnectionError):
                while s.recv(65536):
                    pass
        assert echo("say", "short of fds", check=True).stdout.endswith("echo: short of fds\n")
    finally:
        for s in socks:
            s.close()
        daemon.rlimit(psutil.RLIMIT_NOFILE, limits)
    added = daemon_log.read_bytes()[log_before:].decode(errors="replace")
    assert added.count("out of system resource") <= 2, added[-2000:]


def test_history_agent_of_a_conversation_over_1_mib_keeps_the_session(echo: Parley) -> None:
    # each turn adds ~800 KB to the agent's chat context (the text and its echo)
    words = [f"{n}:" + "x" * 400_000 for n in range(3)]
    for w in words:
        out = echo("say", "-", input=w, check=True).stdout
        assert out.rstrip().endswith(f"echo: {w}")
    model_view = echo("history", "--agent", check=True).stdout
    assert len(model_view) > 2 * (1 << 20)
    for w in words:
        assert w in model_view and f"echo: {w}" in model_view
    # the connection to the agent survived the large answer
    assert echo("say", "still connected?", check=True).stdout.endswith("echo: still connected?\n")


@pytest.mark.skipif(not hasattr(psutil.Process, "rlimit"), reason="needs prlimit (Linux)")
def test_a_full_disk_neither_wedges_the_queue_nor_loses_items(
    parley_home: Path, tmp_path: Path
) -> None:
    """The event log's writes fail (the daemon's file size limit is set below the log's
    size: EFBIG, as a full disk gives ENOSPC), then space returns."""
    agent = copy_agent(ECHO, tmp_path / "proj")
    p = Parley(parley_home, cwd=agent.parent)
    try:
        p("start", str(agent), check=True)
        st = _state(p)
        daemon = psutil.Process(st["daemon_pid"])
        events = Path(st["event_log"])
        limits = daemon.rlimit(psutil.RLIMIT_FSIZE)
        daemon.rlimit(psutil.RLIMIT_FSIZE, (events.stat().st_size, limits[1]))
        try:
            full = p("say", "--timeout", "30", "disk full?")
            assert full.returncode == 0, full.stderr
            assert full.stdout.endswith("echo: disk full?\n")
            assert "parley: warning: cannot write" in full.stderr and str(events) in full.stderr
            status = p("status", check=True).stdout
            assert "event log error:" in status and "wait in memory" in status
            # the queue is not wedged: later turns run
            assert p("say", "--timeout", "30", "and now?", check=True).stdout.endswith(
                "echo: and now?\n"
            )
            on_disk = events.read_text()
            assert "disk full?" not in on_disk  # really not written
        finally:
            daemon.rlimit(psutil.RLIMIT_FSIZE, limits)  # space returns
        wait_until(lambda: json.loads(p("status", "--json").stdout)["event_log_error"] is None)
        assert "event log error" not in p("status", check=True).stdout
        live = [json.loads(x) for x in p("events", "--json", check=True).stdout.splitlines()]
        recorded = [json.loads(x) for x in p("history", "--json", check=True).stdout.splitlines()]
        assert recorded == live  # every item, in order, once
        assert any(i["type"] == "agent_error" and "cannot write" in i["message"] for i in live)
    finally:
        p.stop_quietly()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_start_restarts_a_dead_agent_in_place_and_restart_exists(
    parley_home: Path, tmp_path: Path
) -> None:
    agent = copy_agent(ECHO, tmp_path / "proj")
    p = Parley(parley_home, cwd=agent.parent)
    try:
        p("start", str(agent), check=True)
        first = _state(p)
        os.killpg(first["agent_pid"], signal.SIGKILL)
        wait_until(lambda: not json.loads(p("status", "--json").stdout)["agent_connected"])
        again = p("start", str(agent))  # one command recovers
        assert again.returncode == 0, again.stderr
        assert "restarting it" in again.stderr
        assert "Agent:      echo" in again.stdout and "Agent restarted." in again.stdout
        second = _state(p)
        assert second["daemon_pid"] == first["daemon_pid"]  # the same session
        assert second["agent_pid"] != first["agent_pid"] and _alive(second["agent_pid"])
        assert p("say", "back?", check=True).stdout.endswith("echo: back?\n")
        # `parley restart` on a running session
        restarted = p("restart", check=True)
        assert "Agent restarted." in restarted.stdout
        third = _state(p)
        assert third["agent_pid"] != second["agent_pid"] and not _alive(second["agent_pid"])
        assert p("say", "again?", check=True).stdout.endswith("echo: again?\n")
        # a live session is still refused, naming the session to stop
        refused = p("start", str(agent))
        assert refused.returncode == 1 and "already running" in refused.stderr
    finally:
        p.stop_quietly()


def test_events_follow_tells_a_dead_daemon_from_a_stop(parley_home: Path, tmp_path: Path) -> None:
    agent = copy_agent(ECHO, tmp_path / "proj")
    p = Parley(parley_home, cwd=agent.parent)
    try:
        p("start", str(agent), check=True)
        follower = p.popen("events", "-f")
        wait_until(lambda: len(psutil.Process(_state(p)["daemon_pid"]).net_connections()) > 2)
        p("stop", check=True)
        out, err = follower.communicate(timeout=60)
        assert follower.returncode == 0 and err == ""  # a stop ends the stream normally

        p("start", str(agent), check=True)
        st = _state(p)
        follower = p.popen("events", "-f")
        p("say", "hi", check=True)
        assert follower.stdout is not None
        seen = ""
        while "echo: hi" not in seen:  # the follower is connected: it printed the turn
            line = follower.stdout.readline()
            assert line, "events -f ended before the turn"
            seen += line
        os.kill(st["daemon_pid"], signal.SIGKILL)
        out, err = follower.communicate(timeout=60)
        assert follower.returncode == 1
        assert "lost the session" in err and str(st["daemon_pid"]) in err
    finally:
        p.stop_quietly()


def test_every_hint_names_the_session_it_is_about(parley_home: Path, tmp_path: Path) -> None:
    agent = copy_agent(ECHO, tmp_path / "proj")
    p = Parley(parley_home, cwd=agent.parent)
    try:
        p("start", "-s", "two", str(agent), check=True)
        again = p("start", "-s", "two", str(agent))
        assert again.returncode == 1 and "`parley stop -s two`" in again.stderr
        none = p("say", "-s", "three", "hello")
        assert none.returncode == 1 and "`parley start -s three`" in none.stderr
        timeout = p("say", "-s", "two", "--timeout", "0.5", "slow 3 wait")
        assert timeout.returncode == 124
        assert "`parley status -s two`" in timeout.stderr
        assert "`parley history -s two`" in timeout.stderr
        os.killpg(
            json.loads(p("status", "-s", "two", "--json").stdout)["agent_pid"], signal.SIGKILL
        )
        wait_until(lambda: "parley logs -s two" in p("history", "-s", "two").stdout)
        hist = p("history", "-s", "two").stdout
        assert "`parley stop -s two`" in hist and "`parley restart -s two`" in hist
    finally:
        p("stop", "-s", "two")


def test_readme_tells_where_a_cancelled_turns_late_items_go(echo: Parley) -> None:
    turn_id = echo("say", "--no-wait", "slow 5 late reply", check=True).stdout.strip()
    wait_until(lambda: json.loads(echo("status", "--json").stdout)["turn_in_progress"] == turn_id)
    echo("cancel", check=True)

    def of_turn() -> list[dict]:
        lines = echo("events", "--json", check=True).stdout.splitlines()
        return [i for i in map(json.loads, lines) if i["turn_id"] == turn_id]

    items = wait_until(
        lambda: (x := of_turn()) and any(i["type"] == "agent_message" for i in x) and x
    )
    kinds = [i["type"] for i in items]
    assert kinds.count("turn_finished") == 1
    # the reply the agent still gave for the cancelled turn follows its turn_finished
    assert kinds.index("turn_finished") < kinds.index("agent_message")
    assert items[kinds.index("agent_message")]["text"] == "echo: slow 5 late reply"
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    json_lines = readme[readme.index("### JSON lines") :].split("\n## ")[0]
    assert "always last" not in json_lines
    assert "**cancelled** turn" in json_lines and "after its `turn_finished`" in json_lines


def test_the_agent_exits_on_its_own_when_its_daemon_is_killed(
    parley_home: Path, tmp_path: Path
) -> None:
    agent = copy_agent(ECHO, tmp_path / "proj")
    p = Parley(parley_home, cwd=agent.parent)
    try:
        p("start", str(agent), check=True)
        st = _state(p)
        agent_pid, agent_procs = st["agent_pid"], psutil.Process(st["agent_pid"]).children(True)
        p("say", "hi", check=True)
        os.kill(st["daemon_pid"], signal.SIGKILL)
        # no parley command runs: the agent and every process of it go away by themselves
        wait_until(
            lambda: not _alive(agent_pid) and not any(map(_alive, (c.pid for c in agent_procs))),
            timeout=20,
        )
    finally:
        p.stop_quietly()


def test_a_reloaded_agent_exits_on_its_own_when_its_daemon_is_killed(
    parley_home: Path, tmp_path: Path
) -> None:
    """Watch mode: after a warm reload the agent is the spare interpreter (started in a
    worker thread); it too goes away when the daemon is SIGKILLed, and so does the next
    spare."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "watched"\n')
    agent = copy_agent(ECHO, root)
    p = Parley(parley_home, cwd=root)
    try:
        p("start", "--watch", str(agent), check=True)
        agent.write_text(agent.read_text() + "\n# edited\n")

        def reloaded() -> list[dict]:
            out = p("events", "--json", check=True).stdout.splitlines()
            return [o for o in map(json.loads, out) if o["type"] == "reload"]

        (reload,) = wait_until(reloaded, timeout=120)
        assert reload["error"] is None and reload["warm"] is True  # the spare took it
        st = _state(p)
        assert st["agent_pid"] == reload["agent_pid"]
        assert p("say", "hi", check=True).stdout.endswith("echo: hi\n")
        # the next spare is started after the swap: a process naming the agent file
        # outside the agent's tree
        agent_tree = {
            st["agent_pid"],
            *(c.pid for c in psutil.Process(st["agent_pid"]).children(True)),
        }
        wait_until(lambda: set(_of_agent(agent)) - agent_tree, timeout=120)
        os.kill(st["daemon_pid"], signal.SIGKILL)
        # no parley command runs: the agent, its processes and the spare go away
        wait_until(lambda: not _of_agent(agent), timeout=120)
    finally:
        p.stop_quietly()


def _of_agent(agent: Path) -> list[int]:
    """The living processes whose command line names ``agent`` (the agent, a spare)
    and their descendants."""
    pids = set()
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if str(agent) in (proc.info["cmdline"] or []) and _alive(proc.pid):
                pids.add(proc.pid)
                pids.update(c.pid for c in proc.children(True) if _alive(c.pid))
    return sorted(pids)
