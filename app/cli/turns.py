"""Turns and chat items on the command line: ``parley say``, ``cancel``, ``events``,
``listen`` and ``history``.

stdout carries the conversation (text, or JSON lines with ``--json``), stderr the
diagnostics. Imports are kept inside the commands so ``parley say`` loads only what it
needs: never textual, asyncio or protobuf.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parley.app.cli import exitcodes
from parley.app.cli.common import CONTEXT, fail, fail_with, locate_or_fail, session_option
from parley.app.cli.streams import (
    call,
    daemon_stream,
    full_output_option,
    item_printer,
    log_printer,
    recorded_or_live,
    stdout_closed,
)
from parley.app.errors import command_hint
from parley.app.protocol.sanitize import escape_controls

if TYPE_CHECKING:
    from parley.app.protocol.items import ChatItem


@click.command(context_settings=CONTEXT)
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
@full_output_option
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
    print_item = item_printer(as_json, metrics=metrics, full_output=full_output)
    print_log = log_printer(as_json, name)
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
        stdout_closed()  # the turn goes on; its items are in the log
    except OSError as e:
        fail(f"could not reach the daemon: {e}")
    if status is None:
        fail("the daemon closed the connection before the turn finished")
    sys.exit(exitcodes.TURN_STATUS_EXIT.get(status, exitcodes.FAILURE))


@click.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per chat item.")
@click.option(
    "--agent",
    "from_agent",
    is_flag=True,
    help="Show the running agent's own chat context (what the model saw).",
)
@click.argument("session", required=False)
@full_output_option
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
        reply = call(locate_or_fail(name), "agent_history")
        items = [item_from_dict(d) for d in reply.get("items", [])]
    else:
        from parley.app.session.eventlog import LogFormatError, read_log

        state, rec = recorded_or_live(name)
        path = state.event_log if state else (rec.event_log if rec else None)
        if path is None:
            fail(f"no session running for {Path.cwd()} and no recorded session to show")
        try:
            items = read_log(path).items
        except LogFormatError as e:
            fail_with(e)
    print_item = item_printer(as_json, full_output=full_output)
    try:
        for item in items:
            print_item(item)
    except BrokenPipeError:
        stdout_closed()


@click.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@session_option
def cancel(as_json: bool, name: str | None) -> None:
    """Cancel the running turn and every turn queued before this cancel."""
    turns = call(locate_or_fail(name), "cancel").get("turns", [])
    if as_json:
        click.echo(json.dumps({"cancelled": turns}))
    else:
        click.echo(f"cancelled: {', '.join(turns)}" if turns else "nothing to cancel")


@click.command(context_settings=CONTEXT)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new items until Ctrl+C.")
@click.option(
    "--since", type=int, default=0, metavar="SEQ", help="Only items with a seq above SEQ."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per chat item.")
@full_output_option
@session_option
def events(follow: bool, since: int, as_json: bool, full_output: bool, name: str | None) -> None:
    """Print the session's chat items (with --follow, live).

    Reconnecting with --since <last seq seen> loses nothing and repeats nothing.
    """
    from parley.app.daemon.client import ControlClient
    from parley.app.protocol.items import item_from_dict

    state = locate_or_fail(name)
    print_item = item_printer(as_json, full_output=full_output)
    ended = False
    with daemon_stream() as stream:
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


@click.command(context_settings=CONTEXT)
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
@full_output_option
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
    print_item = item_printer(as_json, metrics=metrics, full_output=full_output)
    heard = False
    with daemon_stream():  # any lost connection: could not reach the daemon
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


def register(cli: click.Group) -> None:
    """Add ``say``, ``cancel``, ``events``, ``listen`` and ``history`` to the ``parley``
    group."""
    for command in (say, cancel, events, listen, history):
        cli.add_command(command)
