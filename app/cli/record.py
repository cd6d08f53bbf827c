"""``parley sessions``, ``parley replay`` and ``parley export``: recordings on the CLI.

A recording is a session's event log (see :mod:`parley.app.session.recordings`). Commands take it
as a session id, a unique prefix of one, or a path to an ``events.jsonl`` file; by
default the newest session of the current project. Only click and the standard
library are imported here at module level: the ``parley say`` path loads this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from parley.app.cli import exitcodes
from parley.app.cli.common import CONTEXT, fail, fail_with
from parley.app.protocol.sanitize import escape_controls

if TYPE_CHECKING:
    from parley.app.session.eventlog import Recording
    from parley.app.session.recordings import SessionRecord

SPEED = click.FloatRange(min=0.0)
MAX_GAP_HELP = "Longest pause between two items, in recorded seconds ('inf' keeps every pause)."


def load_recording(ref: str | None) -> tuple[SessionRecord, Recording]:
    """The :class:`SessionRecord` and parsed :class:`Recording` named by ``ref``; on
    failure print why and exit 1. Notes a truncated last line on stderr."""
    from parley.app.session.eventlog import LogFormatError, read_log
    from parley.app.session.recordings import RecordingNotFound, resolve

    try:
        rec = resolve(ref, Path.cwd())
        recording = read_log(rec.event_log)
    except (RecordingNotFound, LogFormatError) as e:
        fail_with(e)
    except OSError as e:
        fail(f"cannot read {ref or 'the recording'}: {e}")
    if recording.truncated:
        click.echo(
            f"parley: {rec.event_log}: the last line was cut short (a crash mid-write); "
            "using everything before it",
            err=True,
        )
    return rec, recording


@click.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per session.")
@click.option("--here", is_flag=True, help="Only sessions of the current project.")
@click.option("-n", "--limit", type=int, default=0, help="Show only the newest N.")
def sessions(as_json: bool, here: bool, limit: int) -> None:
    """List recorded sessions, newest first.

    The ID names a session for `history`, `replay` and `export` (a unique prefix
    is enough). TURNS counts the messages you sent.
    """
    import time

    from parley.app.session.recordings import human_size, list_sessions, summarize

    records = list_sessions()
    if here:
        cwd = Path.cwd().resolve()
        places = {str(cwd), *map(str, cwd.parents)}
        records = [r for r in records if r.header.get("project") in places]
    records.reverse()
    if limit > 0:
        records = records[:limit]
    summaries = [summarize(r) for r in records]
    if as_json:
        for s in summaries:
            click.echo(json.dumps(s.to_dict(), ensure_ascii=False))
        return
    if not summaries:
        click.echo("no recorded sessions", err=True)
        return
    rows = [("ID", "STARTED", "AGENT", "TURNS", "SIZE", "PROJECT")]
    for s in summaries:
        h = s.record.header
        started = h.get("started_at")
        when = (
            time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
            if isinstance(started, (int, float))
            else "?"
        )
        rows.append(
            (
                s.record.session_id,
                when,
                str(h.get("agent_id") or "?"),
                "?" if s.turns is None else str(s.turns),
                human_size(s.size),
                str(h.get("project") or "?"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        cells = [r[i].rjust(w) if i in (3, 4) else r[i].ljust(w) for i, w in enumerate(widths)]
        click.echo(escape_controls("  ".join([*cells, r[-1]])))


@click.command(context_settings=CONTEXT)
@click.argument("recording", required=False)
@click.option(
    "--speed",
    type=SPEED,
    default=1.0,
    show_default=True,
    help="Playback speed: 2 is twice as fast, 0 shows everything at once.",
)
@click.option("--max-gap", type=SPEED, default=2.0, show_default=True, help=MAX_GAP_HELP)
@click.option("--headless", is_flag=True, help="Print the conversation as plain text.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per chat item.")
def replay(
    recording: str | None, speed: float, max_gap: float, headless: bool, as_json: bool
) -> None:
    """Play RECORDING back at its recorded pace, with no agent running.

    RECORDING is a session id (see `parley sessions`), a unique prefix of one, or
    an events.jsonl file; by default the newest session of this project. Pauses
    longer than --max-gap seconds are shortened to it, then --speed applies.
    Without --headless or --json the replay opens in the chat UI.

    --headless prints exactly what `parley start` and each `parley say` printed
    during the session: every item rendered as text, without start's "Agent
    file/Agent/Tools" lines and "Session started." (and with the unprompted items
    that arrived after the last turn, which no `say` was there to print).
    """
    if headless and as_json:
        raise click.UsageError("give --headless or --json, not both")
    rec, recorded = load_recording(recording)
    if headless or as_json:
        _replay_headless(recorded, speed, max_gap, as_json)
        return
    _replay_tui(rec, recorded, speed, max_gap)


def _replay_headless(recorded: Recording, speed: float, max_gap: float, as_json: bool) -> None:
    from parley.app.session.replay import play
    from parley.headless.render import TextRenderer, render_json, use_color

    render = render_json if as_json else TextRenderer(color=use_color(sys.stdout)).render

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    try:
        play(recorded.items, render, write, speed=speed, max_gap=max_gap)
    except KeyboardInterrupt:
        sys.exit(exitcodes.INTERRUPTED)
    except BrokenPipeError:
        sys.stderr.close()  # e.g. `| head`: stop quietly
        sys.exit(exitcodes.OK)


def _replay_tui(rec: SessionRecord, recorded: Recording, speed: float, max_gap: float) -> None:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail(
            "the chat UI needs a terminal; use --headless or --json to print the replay",
            exitcodes.USAGE,
        )
    from parley.app.backend import ReplayBackend
    from parley.app.cli.tui import run_chat

    agent_log = rec.agent_log if rec.log is None and rec.agent_log.exists() else None
    backend = ReplayBackend(
        recorded.items,
        speed=speed,
        max_gap=max_gap,
        header=recorded.header,
        agent_log=agent_log,
        event_log=rec.event_log,
    )
    pace = "instant" if speed == 0 else f"×{speed:g}"
    run_chat(backend, title=f"REPLAY {rec.session_id} ({pace})")


@click.command(context_settings=CONTEXT)
@click.argument("session", required=False)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["md", "json", "html", "cast"]),
    help="Output format (default: from the --output suffix, else md).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.option("--no-color", is_flag=True, help="cast: no ANSI colours.")
@click.option(
    "--speed",
    type=SPEED,
    default=1.0,
    show_default=True,
    help="cast: playback speed, as on `replay` (0: everything at once).",
)
@click.option(
    "--max-gap",
    type=SPEED,
    default=2.0,
    show_default=True,
    metavar="SECONDS",
    help="cast: " + MAX_GAP_HELP[0].lower() + MAX_GAP_HELP[1:],
)
@click.option(
    "--pause",
    type=SPEED,
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="cast: least pause before each turn, in seconds.",
)
@click.option(
    "--type-delay",
    type=SPEED,
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="cast: type your messages, one character every SECONDS (0.04 types as "
    "`chat --script` does; 0 shows them at once).",
)
@click.option(
    "--cols",
    type=click.IntRange(min=20),
    default=100,
    show_default=True,
    help="cast: terminal width; longer lines wrap, keeping their indent.",
)
def export(
    session: str | None,
    fmt: str | None,
    output: Path | None,
    no_color: bool,
    speed: float,
    max_gap: float,
    pause: float,
    type_delay: float,
    cols: int,
) -> None:
    """Export SESSION as Markdown, JSON lines, a standalone HTML page or an asciicast.

    \b
    md    transcript; tool calls as collapsible <details>
    json  the event log's JSON lines as stored (header line first)
    html  one self-contained page (inline CSS, no external assets)
    cast  asciinema v2 recording of the headless rendering, paced to be
          read (pauses capped at --max-gap, at least --pause before each
          turn, --speed); play it with `asciinema play`

    SESSION is a session id, a unique prefix of one, or an events.jsonl file;
    by default the newest session of this project.
    """
    import os

    from parley.headless.export import SUFFIXES
    from parley.headless.export import export as render_export

    if fmt is None:
        fmt = SUFFIXES.get(output.suffix.lower(), "md") if output else "md"
    rec, recorded = load_recording(session)
    color = not no_color and "NO_COLOR" not in os.environ
    cast = {"speed": speed, "max_gap": max_gap, "pause": pause, "type_delay": type_delay}
    text = render_export(recorded, fmt, rec.event_log, color=color, width=cols, **cast)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        fail(f"cannot write {output}: {e}")
    click.echo(f"wrote {output} ({fmt})", err=True)


def register(cli: click.Group) -> None:
    """Add ``sessions``, ``replay`` and ``export`` to the ``parley`` group."""
    for command in (sessions, replay, export):
        cli.add_command(command)
