"""What the headless commands share: asking the daemon (failures become a clear
message and exit code, :func:`parley.app.cli.common.fail`), printing chat items and
agent-log lines as they arrive, and reading a daemon stream until it ends.

Imports are kept inside the functions so ``parley say`` loads only what it needs:
never textual, asyncio or protobuf.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import click

from parley.app.cli import exitcodes
from parley.app.cli.common import F, fail, fail_with

if TYPE_CHECKING:
    from parley.app.daemon.client import ControlClient
    from parley.app.daemon.state import SessionState
    from parley.app.protocol.items import ChatItem
    from parley.app.protocol.shapes import DaemonStatus
    from parley.app.session.recordings import SessionRecord

T = TypeVar("T")


def ask(state: SessionState, request: Callable[[ControlClient], T], timeout: float) -> T:
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


def call(state: SessionState, op: str, timeout: float = 30.0, **args: Any) -> dict[str, Any]:
    """One request to the daemon, its one answer; any failure becomes ``fail()``."""
    return ask(state, lambda client: client.call(op, timeout=timeout, **args), timeout)


def status_of(state: SessionState, timeout: float = 30.0) -> DaemonStatus:
    """The daemon's status (checked, :func:`parley.app.protocol.shapes.daemon_status`);
    any failure becomes ``fail()``."""
    return ask(state, lambda client: client.status(timeout=timeout), timeout)


class PrintItem(Protocol):
    def __call__(self, item: ChatItem, before_turn: bool = False) -> None: ...


def item_printer(as_json: bool, metrics: bool = False, full_output: bool = False) -> PrintItem:
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


def log_printer(as_json: bool, name: str | None = None) -> Callable[[dict[str, Any]], None]:
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


def full_output_option(f: F) -> F:
    return click.option(
        "--full-output",
        is_flag=True,
        help="Print tool outputs in full (by default: the first line, and a note on "
        "stderr saying how much was cut).",
    )(f)


def stdout_closed() -> NoReturn:
    """stdout's reader went away (``parley say … | head``): stop quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes at exit
    sys.exit(exitcodes.FAILURE)


class Stream:
    """A command's view of the daemon stream it reads (see :func:`daemon_stream`)."""

    #: set once the daemon answered: a connection lost after that is the command's to
    #: report (``events -f``: the daemon died)
    connected = False


@contextlib.contextmanager
def daemon_stream() -> Iterator[Stream]:
    """Around a command's loop over a daemon stream (``events``, ``listen``): Ctrl+C
    exits 130; a closed stdout (``… | head``) ends quietly; a daemon that cannot be
    reached exits 1 saying why, and so does one lost before ``stream.connected`` is set
    (after it, the block just ends and the command tells what the loss means). The
    daemon's own errors (:class:`parley.app.daemon.client.ControlError`) go on to the
    command group, which prints them (:func:`parley.app.cli.common.fail_with`)."""
    stream = Stream()
    try:
        yield stream
    except KeyboardInterrupt:
        sys.exit(exitcodes.INTERRUPTED)
    except BrokenPipeError:
        stdout_closed()
    except OSError as e:
        if not stream.connected:
            fail(f"could not reach the daemon: {e}")


def recorded_or_live(name: str | None) -> tuple[SessionState | None, SessionRecord | None]:
    """The live session's state (or None) and the newest recording for this project."""
    from parley.app.daemon.client import NoSession, locate
    from parley.app.session.recordings import latest_for

    try:
        state = locate(Path.cwd(), name)
    except NoSession:
        state = None
    return state, latest_for(Path.cwd())
