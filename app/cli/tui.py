"""The ``chat``, ``demo`` and ``attach`` commands: the Textual chat UI.

``chat`` and ``demo`` start the project's daemon for the agent (the launcher of
``parley start``) or attach to the one already running, and open the app; quitting
stops the daemon only if this command started it. ``attach`` never starts an agent.
Textual and the widgets are imported inside the commands, so the headless commands
never load them. Registered on the ``parley`` group by :func:`register`.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parley.app.cli import exitcodes
from parley.app.cli.common import (
    CONTEXT,
    F,
    fail_with,
    idle_timeout_option,
    locate_or_fail,
    session_option,
)

if TYPE_CHECKING:  # textual only inside the UI commands, at run time
    from textual.app import AutopilotCallbackType

    from parley.app.agent.launcher import AgentSpec
    from parley.app.backend import ChatBackend


def _timeout_option(f: F) -> F:
    return click.option(
        "--connect-timeout",
        type=float,
        default=60.0,
        show_default=True,
        help="Seconds to wait for the agent to connect.",
    )(f)


def run_chat(
    backend: ChatBackend, title: str, auto_pilot: AutopilotCallbackType | None = None
) -> None:
    """Run the app on ``backend`` until the user quits; make sure a daemon this
    command started is stopped even if the app ended abnormally. ``auto_pilot``
    drives the app (``chat --script``, see :mod:`parley.widgets.script`)."""
    from parley.widgets.app import make_app

    try:
        make_app(backend, title=title, freeze_gc=True).run(auto_pilot=auto_pilot)
    finally:
        release(backend)


def release(backend: ChatBackend) -> None:
    """After the app ended: stop the daemon ``backend`` started, or is still starting
    (a second Ctrl+Q during boot ends the app at once), unless it was closed already.
    :meth:`parley.app.backend.DaemonBackend.close` waits for a start in progress."""
    import asyncio

    if getattr(backend, "closed", True):
        return
    if getattr(backend, "started_daemon", False) or getattr(backend, "booting", False):
        with contextlib.suppress(Exception):
            asyncio.run(backend.close())


def run_scripted(
    backend: ChatBackend,
    script: Path,
    *,
    title: str,
    type_delay: float,
    pause: float,
    exit_after: bool,
    screenshot: Path | None,
) -> int:
    """``parley chat --script``: run the chat app on ``backend`` with the script as
    its auto-pilot, then say on stderr how it went. Returns the exit code: 0 when
    every line was sent and every turn finished ``ok``, else 1."""
    from parley.widgets.script import ScriptRunner, TurnWatcher, read_script

    try:
        lines = read_script(script)
    except (OSError, UnicodeDecodeError) as e:
        print(f"parley: cannot read the script {script}: {e}", file=sys.stderr)
        return exitcodes.FAILURE
    watcher = TurnWatcher(backend)
    runner = ScriptRunner(
        lines,
        watcher,
        type_delay=type_delay,
        pause=pause,
        exit_after=exit_after,
        screenshot=screenshot,
    )
    run_chat(watcher, title=title, auto_pilot=runner)
    failed = [f"{n + 1}: {s}" for n, s in enumerate(runner.statuses) if s != "ok"]
    done = f"{len(runner.statuses)} of {len(lines)} lines sent"
    if runner.screenshot_path:
        print(f"parley: screenshot saved to {runner.screenshot_path}", file=sys.stderr)
    if runner.error:
        print(f"parley: script stopped ({done}): {runner.error}", file=sys.stderr)
        return exitcodes.FAILURE
    if failed:
        print(f"parley: script done ({done}); turns not ok: {', '.join(failed)}", file=sys.stderr)
        return exitcodes.FAILURE
    print(f"parley: script done ({done}, all ok)", file=sys.stderr)
    return exitcodes.OK


def _spec_or_fail(agent: str | None, extra: tuple[str, ...], name: str | None) -> AgentSpec:
    from parley.app.agent.launcher import AgentSpec, LaunchError

    try:
        return AgentSpec.resolve(agent, Path.cwd(), extra, session=name, command="chat")
    except LaunchError as e:
        fail_with(e)


@click.command(context_settings={**CONTEXT, "ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED, metavar="[AGENT] [-- AGENT_ARGS]")
@session_option
@_timeout_option
@click.option(
    "--script",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Type each line of FILE as a person would (# lines are comments).",
)
@click.option(
    "--type-delay",
    type=click.FloatRange(min=0),
    default=0.04,
    show_default=True,
    help="With --script: seconds between keystrokes.",
)
@click.option(
    "--pause",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="With --script: seconds to wait after each turn.",
)
@click.option("--exit-after", is_flag=True, help="With --script: quit when it is done.")
@idle_timeout_option
@click.option(
    "--screenshot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --script: save an SVG screenshot to PATH.svg at the end.",
)
@click.option(
    "--watch", is_flag=True, help="Reload the agent when its sources change (see README)."
)
def chat(
    args: tuple[str, ...],
    name: str | None,
    connect_timeout: float,
    script: Path | None,
    type_delay: float,
    pause: float,
    exit_after: bool,
    idle_timeout: float,
    screenshot: Path | None,
    watch: bool,
) -> None:
    """Chat with AGENT in a terminal UI.

    Starts AGENT (by default agent.py or src/agent.py here or above) in a
    background session, or attaches to the session already running for this
    project, so `parley say` from another terminal shares it. Quitting stops the
    agent if this command started it.
    """
    from parley.app.backend import DaemonBackend
    from parley.app.cli.common import split_agent_args

    if script is None and (exit_after or screenshot):
        raise click.UsageError("--exit-after and --screenshot go with --script")
    agent, extra = split_agent_args(args)
    spec = _spec_or_fail(agent, extra, name)
    backend = DaemonBackend(
        spec,
        name=name,
        connect_timeout=connect_timeout,
        idle_timeout=idle_timeout,
        watch=watch,
    )
    if script is None:
        run_chat(backend, title=spec.agent_file.name)
        return
    code = run_scripted(
        backend,
        script,
        title=spec.agent_file.name,
        type_delay=type_delay,
        pause=pause,
        exit_after=exit_after,
        screenshot=screenshot,
    )
    sys.exit(code)


@click.command(context_settings=CONTEXT)
@session_option
@_timeout_option
def demo(name: str | None, connect_timeout: float) -> None:
    """Chat with the bundled demo agent (a travel concierge and a billing desk).

    Try: "what's the weather in Paris?", "look up booking ABC123", "slow 5" (then
    Esc), "billing", "explode".
    """
    from parley.app.agent.launcher import LaunchError
    from parley.app.backend import DaemonBackend
    from parley.app.demo import demo_spec

    try:
        spec = demo_spec(Path.cwd())
    except LaunchError as e:
        fail_with(e)
    backend = DaemonBackend(spec, name=name, connect_timeout=connect_timeout)
    run_chat(backend, title="demo")


@click.command(context_settings=CONTEXT)
@session_option
def attach(name: str | None) -> None:
    """Open the chat UI on this project's running session (never starts an agent).

    Exits 1 with `no session running` when there is none.
    """
    from parley.app.backend import DaemonBackend

    state = locate_or_fail(name)
    backend = DaemonBackend(None, name=name, cwd=Path.cwd(), attach_only=True)
    run_chat(backend, title=f"{Path(state.agent_file).name} (attached)")


def register(cli: click.Group) -> None:
    """Add the UI commands to the ``parley`` group."""
    for command in (chat, demo, attach):
        cli.add_command(command)
