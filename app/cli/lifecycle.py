"""The session's lifecycle on the command line: ``parley start``, ``restart``, ``stop``
and ``status``.

Imports are kept inside the commands so the other commands load only what they need.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parley.app.cli.common import (
    CONTEXT,
    fail,
    idle_timeout_option,
    locate_or_fail,
    session_option,
    split_agent_args,
)
from parley.app.cli.streams import call, item_printer, status_of
from parley.app.protocol.sanitize import escape_controls

if TYPE_CHECKING:
    from parley.app.agent.launcher import AgentSpec
    from parley.app.daemon.state import SessionState
    from parley.app.protocol.shapes import DaemonStatus, Restarted, Started, StopSummary


@click.command(context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED, metavar="[AGENT] [-- AGENT_ARGS]")
@session_option
@click.option(
    "--connect-timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait for the agent to connect.",
)
@click.option(
    "--watch", is_flag=True, help="Reload the agent when its sources change (see README)."
)
@idle_timeout_option
@click.option(
    "--demo",
    is_flag=True,
    help="Run parley's bundled demo agent (needs parley[demo]) as this directory's session.",
)
def start(
    args: tuple[str, ...],
    name: str | None,
    connect_timeout: float,
    watch: bool,
    idle_timeout: float,
    demo: bool,
) -> None:
    """Start AGENT in a background session.

    AGENT is a livekit-agents file (Python, or a Node entry: .js/.mjs/.ts); by
    default agent.py or src/agent.py, or a Node project's entry (its dev/start
    script's file), in this directory or above. Returns once the agent is connected
    in text mode, printing its runtime, id, tools and greeting. With --demo, the
    bundled demo agent runs instead.
    """
    from parley.app.agent.launcher import AgentSpec, LaunchError
    from parley.app.daemon.control import StartError, running_state, start_daemon
    from parley.app.home import check_writable

    agent, extra = split_agent_args(args)
    if demo and (agent or extra):
        raise click.UsageError("--demo runs the bundled demo agent: give no AGENT or AGENT_ARGS")
    check_writable()
    try:
        if demo:
            from parley.app.demo import demo_spec

            spec = demo_spec(Path.cwd())
        else:
            spec = AgentSpec.resolve(agent, Path.cwd(), extra, session=name)
        existing, cleaned = running_state(spec, name)
        if cleaned:
            click.echo("parley: cleaned up a stale session (its daemon had died)", err=True)
        if existing is not None:
            gone = _agent_gone(existing, spec)
            if gone == "restart":  # the session lives on, its agent crashed: same session
                click.echo("parley: the session's agent had exited; restarting it", err=True)
                _print_started(str(spec.agent_file), spec.runtime_line, _restart(existing))
                click.echo("\nAgent restarted.")
                return
            if gone == "ended":
                click.echo(
                    "parley: the previous session's agent had ended the call or exited; "
                    "ended that session",
                    err=True,
                )
        ready = start_daemon(spec, name, connect_timeout, idle_timeout, watch=watch)
    except (LaunchError, StartError) as e:
        fail(str(e))
    _print_started(str(spec.agent_file), spec.runtime_line, ready)
    if watch:
        click.echo(f"\nWatching {spec.project} for changes.")
    click.echo("\nSession started.")


def _print_started(agent_file: str, runtime: str | None, ready: Started) -> None:
    """What ``start`` and ``restart`` print: the agent file, the runtime that runs it
    (its command and why it was chosen), the agent, its tools, its first items."""
    from parley.app.protocol.items import item_from_dict

    info = ready["agent_info"]
    click.echo(f"Agent file: {agent_file}")
    if runtime:
        click.echo(escape_controls(f"Runtime:    {runtime}"))
    click.echo(escape_controls(f"Agent:      {info['id'] if info else '?'}"))
    tools = ", ".join(info["tools"]) if info else ""
    click.echo(escape_controls(f"Tools:      {tools or '(none)'}"))
    print_item = item_printer(as_json=False)
    for raw in ready["items"]:
        print_item(item_from_dict(raw))


def _restart(state: SessionState) -> Restarted:
    """Ask the daemon to restart its agent in place; its ``restarted`` answer
    (checked, :func:`parley.app.protocol.shapes.restarted`). A failed restart exits 1
    with the agent log's tail."""
    from parley.app.daemon.client import ControlClient, ControlError
    from parley.app.protocol.shapes import restarted

    try:
        return restarted(ControlClient(state).call("restart", timeout=None))
    except ControlError as e:
        fail(f"{e}\n{e.log_tail}".rstrip() if e.log_tail else str(e))
    except OSError as e:
        fail(f"could not reach the daemon (pid {state.daemon_pid}): {e}")


@click.command(context_settings=CONTEXT)
@session_option
def restart(name: str | None) -> None:
    """Restart the session's agent in place (same session, same log).

    Running and queued turns are cancelled. Use it after editing the agent, or when
    it crashed. Prints the agent, its tools and its greeting.
    """
    state = locate_or_fail(name)
    ready = _restart(state)
    _print_started(state.agent_file, ready["runtime"], ready)
    click.echo("\nAgent restarted.")


def _agent_gone(state: SessionState, spec: AgentSpec) -> str | None:
    """What ``start`` does with the running session of ``state`` when its agent is gone:
    ``"restart"`` when the agent crashed and ``spec`` is the session's own agent file
    (restarted in place, same session and log); ``"ended"`` when the agent ended the
    call, or another agent file is asked for (that session is stopped, and ``start``
    starts a new one without a separate ``stop``); ``None`` when its agent runs (or the
    daemon does not answer: ``start_daemon`` reports the running session as it is)."""
    from parley.app.daemon.client import ControlClient, ControlError

    client = ControlClient(state)
    try:
        status = client.status(timeout=10)
        if status["agent_connected"]:
            return None
        if not status["call_ended"] and Path(state.agent_file) == spec.agent_file:
            return "restart"
        client.call("stop", timeout=10)
    except (ControlError, OSError, TimeoutError):
        return None
    return "ended" if client.wait_gone(timeout=20) else None


@click.command(context_settings=CONTEXT)
@session_option
def stop(name: str | None) -> None:
    """End the session: stop the agent and the daemon."""
    from parley.app.daemon.client import ControlClient
    from parley.app.protocol.shapes import stop_summary

    state = locate_or_fail(name)
    reply = call(state, "stop")
    if not ControlClient(state).wait_gone(timeout=20):
        fail(f"the daemon (pid {state.daemon_pid}) did not exit in time")
    click.echo(end_summary(stop_summary(reply.get("summary"))))


def end_summary(summary: StopSummary) -> str:
    """``Session ended. 2 turn(s) over 1m2s, ending with agent "billing". Agent log
    kept at: …. Recording: ….`` (the parts the daemon reported)."""
    from parley.app.protocol.latency import format_duration

    line = "Session ended."
    if "turns" in summary:
        line += f" {summary['turns']} turn(s) over {format_duration(summary.get('seconds', 0))}"
        if summary.get("agent_id"):
            line += f', ending with agent "{summary["agent_id"]}"'
        line += "."
    if summary.get("agent_log"):
        line += f" Agent log kept at: {summary['agent_log']}."
    if summary.get("event_log"):
        line += f" Recording: {summary['event_log']}"
    return line


@click.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@session_option
def status(as_json: bool, name: str | None) -> None:
    """Show the running session (exit 1 when none runs)."""
    st = status_of(locate_or_fail(name))
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    rows: list[tuple[str, object]] = [
        ("session", st["session_id"]),
        ("project", st["project"]),
        ("agent file", st["agent_file"]),
        ("runtime", st["runtime"]),
        *(
            [("background errors", f"{st['background_errors']} (recorded, not shown)")]
            if st["background_errors"]
            else []
        ),
        (
            "agent",
            f"{st['agent_id']} ({'call ended' if st['call_ended'] else st['agent_state']})",
        ),
        ("turn in progress", st["turn_in_progress"] or "none"),
        ("turns queued", len(st["turns_queued"])),
        ("turns", st["turns"]),
        ("unseen items", st["unseen_items"]),
        ("idle", _idle_text(st)),
        ("watch", f"on ({st['reloads']} reloads)" if st["watch"] else "off"),
        ("daemon_pid", st["daemon_pid"]),
        ("agent_pid", st["agent_pid"]),
        ("agent log", st["agent_log"]),
        ("event log", st["event_log"]),
    ]
    if st["event_log_error"]:
        rows.append(
            (
                "event log error",
                f"{st['event_log_error']} ({st['event_log_waiting']} lines wait in memory)",
            )
        )
    for label, value in rows:
        click.echo(escape_controls(f"{label + ':':<18}{value}"))
    if st["reload_error"]:
        click.echo("reload error:     the last reload failed; the previous agent keeps running")
        for line in st["reload_error"].splitlines():
            # the agent's log is data: no control characters reach the terminal
            click.echo("  " + escape_controls(line))


def _idle_text(st: DaemonStatus) -> str:
    """``4m2s (stops after 30m0s)`` / ``… (no idle timeout)``."""
    from parley.app.protocol.latency import format_duration

    idle = format_duration(st["idle_s"])
    limit = st["idle_timeout_s"]
    if not limit:
        return f"{idle} (no idle timeout)"
    return f"{idle} (stops after {format_duration(limit)})"


def register(cli: click.Group) -> None:
    """Add ``start``, ``restart``, ``stop`` and ``status`` to the ``parley`` group."""
    for command in (start, restart, stop, status):
        cli.add_command(command)
