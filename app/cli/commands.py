"""The ``parley`` command line (click).

Headless commands print the conversation on stdout (text, or JSON lines with
``--json``) and diagnostics on stderr; exit codes are in :mod:`parley.app.cli.exitcodes`.
Imports are kept inside the commands so ``parley say`` loads only what it needs:
never textual, asyncio or protobuf.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import click

from parley.app.cli import exitcodes
from parley.app.cli.common import (
    CONTEXT,
    fail,
    fail_with,
    idle_timeout_option,
    locate_or_fail,
    session_option,
    split_agent_args,
)
from parley.app.cli.record import register as register_record_commands
from parley.app.cli.rerun import register as register_rerun_command
from parley.app.cli.skill import register as register_skill_command
from parley.app.cli.tui import register as register_tui_commands
from parley.app.errors import ParleyError, command_hint
from parley.app.protocol.sanitize import escape_controls

if TYPE_CHECKING:
    from parley.app.agent.launcher import AgentSpec
    from parley.app.daemon.client import ControlClient
    from parley.app.daemon.state import SessionState
    from parley.app.protocol.items import ChatItem
    from parley.app.protocol.shapes import DaemonStatus, StopSummary
    from parley.app.session.recordings import SessionRecord

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _ask(state: SessionState, request: Callable[[ControlClient], T], timeout: float) -> T:
    """``request`` to the daemon of ``state`` (answered within ``timeout`` seconds); any
    failure becomes ``fail()`` with a clear message."""
    from parley.app.daemon.client import ControlClient, ControlError

    try:
        return request(ControlClient(state))
    except ControlError as e:
        fail_with(e)
    except TimeoutError:
        fail(f"the daemon (pid {state.daemon_pid}) did not answer within {timeout:g} s")
    except OSError as e:
        fail(f"could not reach the daemon (pid {state.daemon_pid}): {e}")


def _call(state: SessionState, op: str, timeout: float = 30.0, **args: Any) -> dict[str, Any]:
    """One request to the daemon, its one answer; any failure becomes ``fail()``."""
    return _ask(state, lambda client: client.call(op, timeout=timeout, **args), timeout)


def _status(state: SessionState, timeout: float = 30.0) -> DaemonStatus:
    """The daemon's status (checked, :func:`parley.app.protocol.shapes.daemon_status`);
    any failure becomes ``fail()``."""
    return _ask(state, lambda client: client.status(timeout=timeout), timeout)


class _PrintItem(Protocol):
    def __call__(self, item: ChatItem, before_turn: bool = False) -> None: ...


def _printer(as_json: bool, metrics: bool = False, full_output: bool = False) -> _PrintItem:
    """A function printing one chat item to stdout (text or a JSON line), flushed, so
    a reader sees each item as it arrives. ``before_turn=True`` marks an item no
    client had seen, printed ahead of a ``say``'s turn: ``(before this turn)`` after
    its title in text, ``"before_turn": true`` in JSON. A tool output the text form
    cut gets a note on stderr saying how much is left out."""
    from parley.headless.render import TextRenderer, mark_before_turn, render_json, use_color

    renderer = TextRenderer(color=use_color(sys.stdout), metrics=metrics, full_output=full_output)

    def print_item(item: ChatItem, before_turn: bool = False) -> None:
        if as_json:
            text = render_json(item, before_turn=True) if before_turn else render_json(item)
        else:
            text = renderer.render(item)
            if before_turn:
                text = mark_before_turn(text)
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()
            note = None if as_json else renderer.cut_note(item)
            if note:
                sys.stderr.write(note)
                sys.stderr.flush()

    return print_item


def _log_printer(as_json: bool, name: str | None = None) -> Callable[[dict[str, Any]], None]:
    """A function printing one ``log`` message of a ``say`` stream: lines asked for
    with ``--logs`` on stdout (``│ line``, or ``agent_log`` JSON objects), the lines of
    a failure nobody asked for on stderr."""
    from parley.headless.agent_log import failure_header, render_log_json, render_log_lines
    from parley.headless.render import use_color

    def print_log(msg: dict[str, Any]) -> None:
        lines = [str(ln) for ln in msg.get("lines") or []]
        if not lines:
            return
        if msg.get("failure"):
            color = use_color(sys.stderr)
            sys.stderr.write(failure_header(color, name) + render_log_lines(lines, color))
            sys.stderr.flush()
            return
        if as_json:
            sys.stdout.write(render_log_json(lines, msg.get("turn_id")))
        else:
            sys.stdout.write(render_log_lines(lines, use_color(sys.stdout)))
        sys.stdout.flush()

    return print_log


def _full_output_option(f: F) -> F:
    return click.option(
        "--full-output",
        is_flag=True,
        help="Print tool outputs in full (by default: the first line, and a note on "
        "stderr saying how much was cut).",
    )(f)


def _stdout_closed() -> NoReturn:
    """stdout's reader went away (``parley say … | head``): stop quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
    sys.exit(exitcodes.FAILURE)


class _Stream:
    """A command's view of the daemon stream it reads (see :func:`_daemon_stream`)."""

    #: set once the daemon answered: a connection lost after that is the command's to
    #: report (``events -f``: the daemon died)
    connected = False


@contextlib.contextmanager
def _daemon_stream() -> Iterator[_Stream]:
    """Around a command's loop over a daemon stream (``events``, ``listen``): Ctrl+C
    exits 130; a closed stdout (``… | head``) ends quietly; a daemon that cannot be
    reached exits 1 saying why, and so does one lost before ``stream.connected`` is set
    (after it, the block just ends and the command tells what the loss means). The
    daemon's own errors (:class:`parley.app.daemon.client.ControlError`) go on to the
    command group, which prints them (:func:`parley.app.cli.common.fail_with`)."""
    stream = _Stream()
    try:
        yield stream
    except KeyboardInterrupt:
        sys.exit(exitcodes.INTERRUPTED)
    except BrokenPipeError:
        _stdout_closed()
    except OSError as e:
        if not stream.connected:
            fail(f"could not reach the daemon: {e}")


#: ``parley --help`` lists the commands in these sections, in this order
SECTIONS = {
    "Chat UI": ("chat", "demo", "attach"),
    "Headless (scripts, AI agents)": (
        "start", "say", "listen", "cancel", "events", "status", "logs", "history", "restart",
        "stop", "skill",
    ),
    "Recordings": ("sessions", "replay", "export", "rerun"),
}  # fmt: skip


class _Group(click.Group):
    """Ctrl+C in any command exits 130 (not click's "Aborted!" and 1); one of parley's
    errors that a command lets through is its message and exit code
    (:func:`parley.app.cli.common.fail_with`: the one place, never a traceback; a state
    or data directory parley cannot use is one line naming it and ``PARLEY_HOME``);
    ``--help`` lists the commands by :data:`SECTIONS` (any other under "Other")."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        placed = {n for group in SECTIONS.values() for n in group}
        sections = [*SECTIONS.items(), ("Other", tuple(n for n in names if n not in placed))]
        width = formatter.width - 6 - max((len(n) for n in names), default=0)
        for title, group in sections:
            rows = []
            for name in group:
                cmd = self.get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=max(width, 20))))
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("", err=True)
            sys.exit(exitcodes.INTERRUPTED)
        except ParleyError as e:
            fail_with(e)


@click.group(cls=_Group, context_settings=CONTEXT)
@click.version_option(package_name="parley")
def cli() -> None:
    """Talk to LiveKit voice agents in text mode.

    \b
    parley chat [AGENT]      chat in a terminal UI (parley demo: a bundled agent)
    parley start [AGENT]     start a session in the background, then
    parley say "hello"       send one turn, print it, exit
    parley stop              end the session
    """


@cli.command(context_settings={**CONTEXT, "ignore_unknown_options": True})
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
            spec = AgentSpec.resolve(agent, Path.cwd(), extra)
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


def _print_started(agent_file: str, runtime: str | None, ready: dict[str, Any]) -> None:
    """What ``start`` and ``restart`` print: the agent file, the runtime that runs it
    (its command and why it was chosen), the agent, its tools, its first items.
    ``ready`` is the daemon's ready line or ``restarted`` answer: its ``agent_info``
    (checked, :func:`parley.app.protocol.shapes.agent_info`) and ``items``."""
    from parley.app.protocol.items import item_from_dict
    from parley.app.protocol.shapes import agent_info

    raw_info = ready.get("agent_info")
    info = agent_info(raw_info) if isinstance(raw_info, dict) and raw_info else None
    click.echo(f"Agent file: {agent_file}")
    if runtime:
        click.echo(escape_controls(f"Runtime:    {runtime}"))
    click.echo(escape_controls(f"Agent:      {info['id'] if info else '?'}"))
    tools = ", ".join(info["tools"]) if info else ""
    click.echo(escape_controls(f"Tools:      {tools or '(none)'}"))
    print_item = _printer(as_json=False)
    for raw in ready.get("items", []):
        print_item(item_from_dict(raw))


def _restart(state: SessionState) -> dict[str, Any]:
    """Ask the daemon to restart its agent in place; its ``restarted`` answer. A
    failed restart exits 1 with the agent log's tail."""
    from parley.app.daemon.client import ControlClient, ControlError

    try:
        return ControlClient(state).call("restart", timeout=None)
    except ControlError as e:
        fail(f"{e}\n{e.log_tail}".rstrip() if e.log_tail else str(e))
    except OSError as e:
        fail(f"could not reach the daemon (pid {state.daemon_pid}): {e}")


@cli.command(context_settings=CONTEXT)
@session_option
def restart(name: str | None) -> None:
    """Restart the session's agent in place (same session, same log).

    Running and queued turns are cancelled. Use it after editing the agent, or when
    it crashed. Prints the agent, its tools and its greeting.
    """
    state = locate_or_fail(name)
    ready = _restart(state)
    _print_started(state.agent_file, ready.get("runtime"), ready)
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


@cli.command(context_settings=CONTEXT)
@session_option
def stop(name: str | None) -> None:
    """End the session: stop the agent and the daemon."""
    from parley.app.daemon.client import ControlClient
    from parley.app.protocol.shapes import stop_summary

    state = locate_or_fail(name)
    reply = _call(state, "stop")
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
@click.option("--no-wait", is_flag=True, help="Queue the turn, print its id and exit at once.")
@click.option(
    "--logs",
    "with_logs",
    is_flag=True,
    help="Also print the agent-log lines written during the turn (as '│ line').",
)
@click.option(
    "--metrics",
    is_flag=True,
    help="Show each reply's latency (LLM time to first token, TTS first byte, end to "
    "end) and the turn's duration.",
)
@_full_output_option
@session_option
def say(
    text: str | None,
    as_json: bool,
    timeout: float,
    no_wait: bool,
    with_logs: bool,
    metrics: bool,
    full_output: bool,
    name: str | None,
) -> None:
    """Send TEXT as one turn and print it (TEXT '-' or omitted: read stdin).

    What no client has seen yet (a late reply, a background tool's result, the rest
    of a turn whose `say` timed out) is printed first, marked "(before this turn)".
    Exits 0 when the turn finished ok, 1 on an agent error, 124 on --timeout (the
    turn goes on), 130 when it was cancelled or on Ctrl+C (which cancels it). When a
    tool errors or the turn fails, the agent log's error lines (the traceback) are
    printed on stderr.
    """
    from parley.app.daemon.client import ControlClient, ControlError
    from parley.app.protocol.items import TurnFinished, item_from_dict
    from parley.app.protocol.limits import check_text

    if text is None or text == "-":
        if sys.stdin.isatty():
            raise click.UsageError("give the TEXT to say, or pipe it on stdin")
        data = sys.stdin.buffer.read()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            fail(
                f"the text on stdin is not valid UTF-8 (byte 0x{data[e.start]:02x} at offset "
                f"{e.start}); nothing was sent",
                exitcodes.USAGE,
            )
    check_text(text)  # an InputError ends the command: usage error, nothing sent
    state = locate_or_fail(name)
    print_item = _printer(as_json, metrics=metrics, full_output=full_output)
    print_log = _log_printer(as_json, name)
    status = None
    client = ControlClient(state)
    turn_id = None
    try:
        stream = client.stream("say", timeout=timeout, text=text, wait=not no_wait, logs=with_logs)
        for msg in stream:
            if msg.get("event") == "log":
                print_log(msg)
                continue
            if msg.get("event") == "accepted":
                turn_id = msg["turn_id"]
                if no_wait:
                    click.echo(json.dumps({"turn_id": turn_id}) if as_json else turn_id)
                    sys.exit(exitcodes.OK)
                continue
            if msg.get("event") == "warning":
                click.echo(escape_controls(f"parley: warning: {msg.get('warning')}"), err=True)
                continue
            if msg.get("event") != "item":
                continue
            item = item_from_dict(msg["item"])
            before = bool(msg.get("before_turn"))
            print_item(item, before_turn=before)
            if isinstance(item, TurnFinished) and not before and item.turn_id == turn_id:
                status = item.status
    except TimeoutError:
        fail(
            f"no answer within {timeout:g} s; the turn may still be running "
            f"(see `{command_hint('status', name)}`, `{command_hint('history', name)}`)",
            exitcodes.TIMEOUT,
        )
    except KeyboardInterrupt:
        if turn_id is not None:  # Ctrl+C cancels this turn only
            with contextlib.suppress(OSError, ControlError):
                client.call("cancel", timeout=5, turn_id=turn_id)
        sys.exit(exitcodes.INTERRUPTED)
    except BrokenPipeError:
        _stdout_closed()  # the turn goes on; its items are in the log
    except OSError as e:
        fail(f"could not reach the daemon: {e}")
    if status is None:
        fail("the daemon closed the connection before the turn finished")
    sys.exit(exitcodes.TURN_STATUS_EXIT.get(status, exitcodes.FAILURE))


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@session_option
def status(as_json: bool, name: str | None) -> None:
    """Show the running session (exit 1 when none runs)."""
    st = _status(locate_or_fail(name))
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


def _recorded_or_live(name: str | None) -> tuple[SessionState | None, SessionRecord | None]:
    """The live session's state (or None) and the newest recording for this project."""
    from parley.app.daemon.client import NoSession, locate
    from parley.app.session.recordings import latest_for

    try:
        state = locate(Path.cwd(), name)
    except NoSession:
        state = None
    return state, latest_for(Path.cwd())


@cli.command(context_settings=CONTEXT)
@click.option("-n", "--lines", default=40, show_default=True, help="How many lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option(
    "--full", is_flag=True, help="Print long lines whole (default: cut after 500 characters)."
)
@session_option
def logs(lines: int, follow: bool, full: bool, name: str | None) -> None:
    """Show the agent's log (of the running session, else the last one).

    One line per log line; colours on a terminal only (never with NO_COLOR), other
    control characters shown as \\xNN.
    """
    import time

    from parley.app.agent.agentlog import LINE_CAP, LineSplitter, clean_line, read_tail
    from parley.headless.render import use_color

    state, rec = _recorded_or_live(name)
    path = Path(state.agent_log) if state else (rec.agent_log if rec else None)
    if path is None or not path.exists():
        fail(f"no session running for {Path.cwd()} and no recorded session to show")
    color = use_color(sys.stdout)
    width = None if full else LINE_CAP

    def show(raw: list[str]) -> None:
        for line in raw:
            sys.stdout.write(clean_line(line, color=color, width=width) + "\n")
        sys.stdout.flush()

    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            offset = f.tell()
            if lines > 0:
                show(read_tail(path, end=offset)[-lines:])
            if not follow:
                return
            f.seek(offset)
            splitter = LineSplitter()
            while True:
                chunk = f.read(1024 * 1024)
                if chunk:
                    show(splitter.feed_bytes(chunk))
                else:
                    time.sleep(0.2)
    except KeyboardInterrupt:
        sys.exit(exitcodes.INTERRUPTED)
    except BrokenPipeError:
        _stdout_closed()


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per chat item.")
@click.option(
    "--agent",
    "from_agent",
    is_flag=True,
    help="Show the running agent's own chat context (what the model saw).",
)
@click.argument("session", required=False)
@_full_output_option
@session_option
def history(
    as_json: bool, from_agent: bool, session: str | None, full_output: bool, name: str | None
) -> None:
    """Show the session's chat items (works after `stop` too).

    SESSION is a recorded session's id (see `parley sessions`) or an events.jsonl
    file; by default the running session, else the newest one of this project.
    """
    from parley.app.protocol.items import item_from_dict

    items: list[ChatItem]
    if from_agent and session is not None:
        raise click.UsageError("--agent shows the running session; it takes no SESSION")
    if session is not None:
        from parley.app.cli.record import load_recording

        items = load_recording(session)[1].items
    elif from_agent:
        reply = _call(locate_or_fail(name), "agent_history")
        items = [item_from_dict(d) for d in reply.get("items", [])]
    else:
        from parley.app.session.eventlog import LogFormatError, read_log

        state, rec = _recorded_or_live(name)
        path = state.event_log if state else (rec.event_log if rec else None)
        if path is None:
            fail(f"no session running for {Path.cwd()} and no recorded session to show")
        try:
            items = read_log(path).items
        except LogFormatError as e:
            fail_with(e)
    print_item = _printer(as_json, full_output=full_output)
    try:
        for item in items:
            print_item(item)
    except BrokenPipeError:
        _stdout_closed()


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@session_option
def cancel(as_json: bool, name: str | None) -> None:
    """Cancel the running turn and every turn queued before this cancel."""
    turns = _call(locate_or_fail(name), "cancel").get("turns", [])
    if as_json:
        click.echo(json.dumps({"cancelled": turns}))
    else:
        click.echo(f"cancelled: {', '.join(turns)}" if turns else "nothing to cancel")


@cli.command(context_settings=CONTEXT)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new items until Ctrl+C.")
@click.option(
    "--since", type=int, default=0, metavar="SEQ", help="Only items with a seq above SEQ."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per chat item.")
@_full_output_option
@session_option
def events(follow: bool, since: int, as_json: bool, full_output: bool, name: str | None) -> None:
    """Print the session's chat items (with --follow, live).

    Reconnecting with --since <last seq seen> loses nothing and repeats nothing.
    """
    from parley.app.daemon.client import ControlClient
    from parley.app.protocol.items import item_from_dict

    state = locate_or_fail(name)
    print_item = _printer(as_json, full_output=full_output)
    ended = False
    with _daemon_stream() as stream:
        for msg in ControlClient(state).stream("events", since=since, follow=follow):
            stream.connected = True
            if msg.get("event") == "item":
                print_item(item_from_dict(msg["item"]))
            elif msg.get("event") == "end":
                ended = True
    if not ended:  # the daemon did not end the stream: it is gone
        fail(
            f"lost the session: its daemon (pid {state.daemon_pid}) went away without "
            f"ending the stream (killed or crashed); see `{command_hint('status', name)}`"
        )


@cli.command(context_settings=CONTEXT)
@click.option(
    "--timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait at most; then exit 124.",
)
@click.option(
    "--quiet",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds of silence, once the agent said something, that end the wait.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per chat item.")
@click.option("--metrics", is_flag=True, help="Show each reply's latency.")
@_full_output_option
@session_option
def listen(
    timeout: float,
    quiet: float,
    as_json: bool,
    metrics: bool,
    full_output: bool,
    name: str | None,
) -> None:
    """Print what the agent says on its own (a background tool's result, a late
    reply), without sending a turn.

    First what no client has seen yet, then whatever comes. Exits 0 once the agent
    said something and went quiet (idle, no turn or tool running, --quiet seconds
    without a new item), 124 at --timeout, 1 if the session ends.
    """
    from parley.app.daemon.client import ControlClient
    from parley.app.daemon.seen import noteworthy
    from parley.app.protocol.items import item_from_dict

    state = locate_or_fail(name)
    print_item = _printer(as_json, metrics=metrics, full_output=full_output)
    heard = False
    with _daemon_stream():  # any lost connection: could not reach the daemon
        try:
            for msg in ControlClient(state).stream("listen", timeout=timeout, quiet=quiet):
                if msg.get("event") == "item":
                    item = item_from_dict(msg["item"])
                    heard = heard or noteworthy(item)
                    print_item(item)
                elif msg.get("event") == "quiet":
                    sys.exit(exitcodes.OK)
        except TimeoutError:
            if heard:
                fail(f"the agent was still busy after {timeout:g} s", exitcodes.TIMEOUT)
            fail(f"the agent said nothing within {timeout:g} s", exitcodes.TIMEOUT)
    fail("the daemon closed the connection")


register_record_commands(cli)
register_skill_command(cli)
register_rerun_command(cli)
register_tui_commands(cli)


def main() -> None:
    """The ``parley`` console script (a :class:`ParleyError` no command handled is
    reported by the command group, :class:`_Group`)."""
    cli(prog_name="parley")


if __name__ == "__main__":
    main()
