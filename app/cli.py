"""The ``parley`` command line (click).

Headless commands print the conversation on stdout (text, or JSON lines with
``--json``) and diagnostics on stderr; exit codes are in :mod:`app.exitcodes`.
Imports are kept inside the commands so ``parley say`` loads only what it needs:
never textual, asyncio or protobuf.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from app import exitcodes

CONTEXT = {"help_option_names": ["-h", "--help"]}


def fail(message: str, code: int = exitcodes.FAILURE) -> NoReturn:
    """Print ``parley: <message>`` on stderr and exit with ``code``."""
    click.echo(f"parley: {message}", err=True)
    sys.exit(code)


def _session_option(f: Any) -> Any:
    return click.option(
        "-s",
        "--session",
        "name",
        metavar="NAME",
        envvar="PARLEY_SESSION",
        help="Name of the session, to run more than one per project.",
    )(f)


def _locate(name: str | None) -> Any:
    from app.client import NoSession, locate

    try:
        return locate(Path.cwd(), name)
    except NoSession as e:
        fail(str(e))


def _split_agent_args(args: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """``[AGENT] [-- ARGS…]``: click drops the ``--``, so find it in argv."""
    argv = sys.argv[1:]
    if "--" in argv:
        extra = tuple(argv[argv.index("--") + 1 :])
        before = args[: len(args) - len(extra)] if extra else args
    else:
        before, extra = args, ()
    if len(before) > 1:
        raise click.UsageError("give one agent file; pass agent arguments after --")
    return (before[0] if before else None), extra


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="parley")
def cli() -> None:
    """Talk to LiveKit voice agents in text mode.

    \b
    Headless (scripts, AI agents):
      parley start [AGENT]     start a session in the background
      parley say "hello"       send one turn, print it, exit
      parley stop              end the session
    """


@cli.command(context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED, metavar="[AGENT] [-- AGENT_ARGS]")
@_session_option
@click.option(
    "--connect-timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for the agent to connect.",
)
def start(args: tuple[str, ...], name: str | None, connect_timeout: float) -> None:
    """Start AGENT in a background session.

    AGENT is a livekit-agents file; by default agent.py or src/agent.py in this
    directory or above. Returns once the agent is connected in text mode, printing
    its id, tools and greeting.
    """
    import subprocess

    from app.client import cleanup_stale, daemon_alive
    from app.launcher import AgentSpec, LaunchError
    from app.state import SessionState, session_dir, session_key, tail
    from headless.render import TextRenderer, use_color

    agent, extra = _split_agent_args(args)
    try:
        spec = AgentSpec.resolve(agent, Path.cwd(), extra)
    except LaunchError as e:
        fail(str(e))
    key = session_key(spec.project, name)
    sdir = session_dir(key)
    existing = SessionState.load(sdir)
    if existing is not None:
        if daemon_alive(existing) or not cleanup_stale(sdir, existing):
            fail(
                f"a session is already running for {existing.project}: agent "
                f"{existing.agent_file} (daemon pid {existing.daemon_pid}); "
                "stop it with `parley stop`"
            )
        click.echo(
            f"parley: cleaned up a stale session (daemon pid {existing.daemon_pid} had died)",
            err=True,
        )
    cfg = {
        "key": key,
        "name": name,
        "project": str(spec.project),
        "agent_file": str(spec.agent_file),
        "python": spec.python,
        "extra_args": list(spec.extra_args),
        "connect_timeout": connect_timeout,
    }
    err_path = sdir / "daemon-start.err"
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.daemon", json.dumps(cfg)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
            # not the project: a user's own top-level `app` package must not shadow ours
            cwd=str(sdir),
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.stdout.close()
    try:
        ready = json.loads(line) if line else {}
    except ValueError:
        ready = {}
    if not ready.get("ok"):
        message = ready.get("error") or "the daemon failed to start"
        detail = ready.get("log_tail") or tail(err_path)
        if detail:
            message += "\n" + detail
        if ready.get("agent_log"):
            message += f"\n(full agent log: {ready['agent_log']})"
        fail(message)
    info = ready.get("agent_info", {})
    click.echo(f"Agent file: {spec.agent_file}")
    click.echo(f"Agent:      {info.get('id', '?')}")
    click.echo(f"Tools:      {', '.join(info.get('tools') or []) or '(none)'}")
    renderer = TextRenderer(color=use_color(sys.stdout))
    from app.items import item_from_dict

    for raw in ready.get("items", []):
        text = renderer.render(item_from_dict(raw))
        if text:
            click.echo(text, nl=False)
    click.echo("\nSession started.")


@cli.command(context_settings=CONTEXT)
@_session_option
def stop(name: str | None) -> None:
    """End the session: stop the agent and the daemon."""
    from app.client import ControlClient

    state = _locate(name)
    client = ControlClient(state)
    try:
        client.call("stop")
    except (ConnectionError, OSError) as e:
        fail(f"could not reach the daemon: {e}")
    if not client.wait_gone(timeout=20):
        fail(f"the daemon (pid {state.daemon_pid}) did not exit in time")
    click.echo("Session ended.")


@cli.command(context_settings=CONTEXT)
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per chat item.")
@click.option(
    "--timeout",
    type=float,
    default=120.0,
    show_default=True,
    help="Seconds to wait for the turn; then exit 124 (the turn goes on).",
)
@_session_option
def say(text: str | None, as_json: bool, timeout: float, name: str | None) -> None:
    """Send TEXT as one turn and print it (TEXT '-' or omitted: read stdin)."""
    from app.client import ControlClient, ControlError
    from app.items import TurnFinished, item_from_dict
    from app.limits import InputError, check_text
    from headless.render import TextRenderer, render_json, use_color

    if text is None or text == "-":
        if sys.stdin.isatty():
            raise click.UsageError("give the TEXT to say, or pipe it on stdin")
        text = sys.stdin.read()
    try:
        check_text(text)
    except InputError as e:
        fail(str(e), exitcodes.USAGE)
    state = _locate(name)
    renderer = TextRenderer(color=use_color(sys.stdout))
    out = sys.stdout
    status = None
    try:
        for msg in ControlClient(state).stream("say", timeout=timeout, text=text):
            if msg.get("event") != "item":
                continue
            item = item_from_dict(msg["item"])
            out.write(render_json(item) if as_json else renderer.render(item))
            out.flush()
            if isinstance(item, TurnFinished):
                status = item.status
    except TimeoutError:
        fail(
            f"no answer within {timeout:g} s; the turn may still be running "
            "(see `parley status`, `parley history`)",
            exitcodes.TIMEOUT,
        )
    except ControlError as e:
        fail(str(e), exitcodes.USAGE if e.kind == "input" else exitcodes.FAILURE)
    except KeyboardInterrupt:
        sys.exit(exitcodes.INTERRUPTED)
    except OSError as e:
        fail(f"could not reach the daemon: {e}")
    if status is None:
        fail("the daemon closed the connection before the turn finished")
    sys.exit(exitcodes.TURN_STATUS_EXIT.get(status, exitcodes.FAILURE))


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@_session_option
def status(as_json: bool, name: str | None) -> None:
    """Show the running session (exit 1 when none runs)."""
    from app.client import ControlClient

    state = _locate(name)
    try:
        st = ControlClient(state).call("status")
    except (OSError, ConnectionError) as e:
        fail(f"could not reach the daemon: {e}")
    st.pop("event", None)
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    rows = [
        ("session", st.get("session_id")),
        ("project", st.get("project")),
        ("agent file", st.get("agent_file")),
        ("agent", f"{st.get('agent_id')} ({st.get('agent_state')})"),
        ("turn in progress", st.get("turn_in_progress") or "none"),
        ("turns queued", len(st.get("turns_queued") or [])),
        ("daemon_pid", st.get("daemon_pid")),
        ("agent_pid", st.get("agent_pid")),
        ("agent log", st.get("agent_log")),
        ("event log", st.get("event_log")),
    ]
    for label, value in rows:
        click.echo(f"{label + ':':<18}{value}")


def _recorded_or_live(name: str | None) -> tuple[Any, Any]:
    """The live session's state (or None) and the newest recording for this project."""
    from app.client import NoSession, locate
    from app.recordings import latest_for

    try:
        state = locate(Path.cwd(), name)
    except NoSession:
        state = None
    return state, latest_for(Path.cwd())


@cli.command(context_settings=CONTEXT)
@click.option("-n", "--lines", default=40, show_default=True, help="How many lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@_session_option
def logs(lines: int, follow: bool, name: str | None) -> None:
    """Show the agent's log (of the running session, else the last one)."""
    import time

    from app.state import tail

    state, rec = _recorded_or_live(name)
    path = Path(state.agent_log) if state else (rec.agent_log if rec else None)
    if path is None or not path.exists():
        fail(f"no session running for {Path.cwd()} and no recorded session to show")
    text = tail(path, lines)
    if text:
        click.echo(text)
    if not follow:
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        f.seek(0, os.SEEK_END)
        try:
            while True:
                chunk = f.read()
                if chunk:
                    sys.stdout.write(chunk)
                    sys.stdout.flush()
                else:
                    time.sleep(0.2)
        except KeyboardInterrupt:
            sys.exit(exitcodes.OK)


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per chat item.")
@click.option(
    "--agent",
    "from_agent",
    is_flag=True,
    help="Show the running agent's own chat context (what the model saw).",
)
@_session_option
def history(as_json: bool, from_agent: bool, name: str | None) -> None:
    """Show the session's chat items (works after `stop` too)."""
    from app.items import ChatItem, item_from_dict
    from headless.render import TextRenderer, render_json, use_color

    items: list[ChatItem]
    if from_agent:
        from app.client import ControlClient, ControlError

        state = _locate(name)
        try:
            reply = ControlClient(state).call("agent_history")
        except ControlError as e:
            fail(str(e))
        items = [item_from_dict(d) for d in reply.get("items", [])]
    else:
        from app.eventlog import LogFormatError, read_log

        state, rec = _recorded_or_live(name)
        path = state.event_log if state else (rec.event_log if rec else None)
        if path is None:
            fail(f"no session running for {Path.cwd()} and no recorded session to show")
        try:
            items = read_log(path).items
        except LogFormatError as e:
            fail(str(e))
    renderer = TextRenderer(color=use_color(sys.stdout))
    for item in items:
        sys.stdout.write(render_json(item) if as_json else renderer.render(item))


def main() -> None:
    cli(prog_name="parley")


if __name__ == "__main__":
    main()
