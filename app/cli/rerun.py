"""``parley rerun``: recorded conversations as regression tests
(see :mod:`parley.app.daemon.rerun`).

Click and the standard library at module level (the ``parley say`` path loads the
command modules); the work is imported inside the command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from parley.app.cli import exitcodes
from parley.app.cli.common import CONTEXT, fail, fail_with


@click.command(context_settings=CONTEXT)
@click.argument("recordings", nargs=-1, required=True, metavar="RECORDING...")
@click.option(
    "--agent",
    metavar="FILE",
    help="Run this agent file instead of the one each recording names.",
)
@click.option(
    "--compare",
    "compare_spec",
    default="tools,handoffs,errors",
    show_default=True,
    metavar="LIST",
    help="What to compare: tools, handoffs, errors, text (comma-separated), or all.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per turn, then summaries.")
@click.option(
    "--junit",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Also write a JUnit XML report (one test case per recording) to FILE.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=120.0,
    show_default=True,
    help="Seconds to wait for each turn.",
)
@click.option(
    "--connect-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the agent to connect.",
)
@click.option("--fail-fast", is_flag=True, help="Stop a recording at its first differing turn.")
@click.option("--check", is_flag=True, help="Print only the turns that differ and the summaries.")
def rerun(
    recordings: tuple[str, ...],
    agent: str | None,
    compare_spec: str,
    as_json: bool,
    junit: Path | None,
    timeout: float,
    connect_timeout: float,
    fail_fast: bool,
    check: bool,
) -> None:
    """Rerun recorded conversations against the agent as it is now and compare.

    RECORDING is a session id (see `parley sessions`), a unique prefix of one, an
    events.jsonl file, a session directory, or a directory of recordings. Each one
    runs in a fresh session of its agent (the recording's agent file as it is now on
    disk, or --agent): every recorded user turn is sent in order and compared with
    the recorded turn: function tool calls (name, arguments, is_error, output),
    handoffs, agent errors and, with --compare text, the agent's text.

    Exits 0 when everything matches, 1 when a turn differs or fails, 2 on usage
    errors. Each rerun is recorded too (its header names the recording it reran).
    """
    from parley.app.daemon.rerun import RerunError, RerunResult, find_recordings, rerun_recording
    from parley.app.session.compare import TurnResult, parse_compare
    from parley.headless.render import use_color
    from parley.headless.rerun_report import TextReport, json_summary, json_turn, junit_xml

    try:
        compare = parse_compare(compare_spec)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    try:
        targets = find_recordings(list(recordings), Path.cwd())
    except RerunError as e:
        fail_with(e)
    report = TextReport(color=use_color(sys.stdout), quiet=check)
    results: list[RerunResult] = []

    def out(text: str) -> None:
        if text:
            sys.stdout.write(text)
            sys.stdout.flush()

    try:
        for record, recording in targets:
            if not as_json:
                agent_file = agent or recording.header.get("agent_file") or "?"
                out(report.header(record.session_id, str(agent_file)))

            def on_turn(t: TurnResult, rid: str = record.session_id) -> None:
                out(json_turn(rid, t) if as_json else report.turn(t))

            result = rerun_recording(
                record,
                recording,
                compare=compare,
                agent=agent,
                timeout=timeout,
                connect_timeout=connect_timeout,
                fail_fast=fail_fast,
                on_turn=on_turn,
            )
            results.append(result)
            out(json_summary(result) if as_json else report.summary(result))
    except KeyboardInterrupt:
        sys.exit(exitcodes.INTERRUPTED)
    except BrokenPipeError:
        sys.exit(exitcodes.FAILURE)
    if junit is not None:
        try:
            junit.write_text(junit_xml(results, sorted(compare)), encoding="utf-8")
        except OSError as e:
            fail(f"cannot write {junit}: {e}")
    if len(results) > 1 and not as_json:
        passed = sum(r.ok for r in results)
        out(f"{passed} of {len(results)} recordings pass\n")
    sys.exit(exitcodes.OK if all(r.ok for r in results) else exitcodes.FAILURE)


def register(cli: click.Group) -> None:
    """Add ``rerun`` to the ``parley`` group."""
    cli.add_command(rerun)
