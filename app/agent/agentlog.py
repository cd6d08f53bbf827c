"""The agent's own log (``agent.log``: its stdout and stderr), as people read it.

What livekit-agents writes there (measured on 1.8.9, ``livekit/agents/cli/log.py``): in
``console`` mode its ``ColoredFormatter`` starts every record with ``\\r`` (so lines end
``\\n\\r``), colours the level and the extras with ANSI SGR codes, and appends a
traceback, if any, as plain lines after the record's first line::

    \\r00:45:02 \\x1b[31mERROR\\x1b[0m livekit.agents exception occurred while executing tool …
    Traceback (most recent call last):
      …
    RuntimeError: inventory database unreachable

This module turns such bytes into one clean line per log line (:func:`split_lines`,
:func:`clean_line`), groups lines into records (:func:`records`), picks the lines worth
showing when something failed (:func:`failure_lines`) and spots a job that failed before
its session started (:class:`JobFailureWatch`).

Log text is data: every escape sequence except SGR colour is dropped, SGR is kept only
when asked (``color=True``), and every other control character is shown escaped
(``\\x07``), so nothing in a log line can move a terminal's cursor or break an SVG.

Standard library only: ``parley say`` loads it.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from parley.app.protocol.sanitize import escape_controls

#: a log line longer than this (visible characters) is cut, with how much was left out
LINE_CAP = 500
#: how far back :func:`tail` reads, bytes
TAIL_BYTES = 256 * 1024

# one terminal escape sequence: CSI (SGR is CSI … m), OSC, DCS/SOS/PM/APC strings, and
# the two-character escapes (ESC + one byte); a lone ESC matches too
_ESCAPE = re.compile(
    r"""
      \x1b\[ (?P<params>[0-?]*) [ -/]* (?P<final>[@-~])?
    | \x1b\] [^\x07\x1b]* (?:\x07|\x1b\\)?
    | \x1b[PX^_] [^\x1b]* (?:\x1b\\)?
    | \x1b [ -/]* [0-~]?
    | \x9b [0-?]* [ -/]* [@-~]?
    """,
    re.VERBOSE,
)
_SGR_PARAMS = re.compile(r"[0-9;:]*")
_LINE_BREAK = re.compile(r"\r?\n\r?|\r")
_RESET = "\x1b[0m"

# the first line of a record: livekit-agents' console and dev formats
# ("00:45:02 ERROR name msg", "2026-11-28 00:45:02,123 - ERROR name - msg")
_RECORD_HEAD = re.compile(
    r"^(?:\d{4}-\d\d-\d\d[ T])?\d\d:\d\d:\d\d(?:[.,]\d+)?\s+(?:-\s+)?"
    r"(?P<level>DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|DEV)\b"
)
_TRACEBACK = "Traceback (most recent call last):"


def split_lines(text: str) -> list[str]:
    """Split log text into lines: ``\\n``, ``\\r\\n``, ``\\n\\r`` (LiveKit's console)
    and a lone ``\\r`` each end one line. A ``\\r`` starting the text and a trailing
    break add no empty line."""
    if text.startswith("\r") and not text.startswith("\r\n"):
        text = text[1:]  # LiveKit's "\r" before the first record
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class LineSplitter:
    """Splits log text that arrives in chunks into the same lines :func:`split_lines`
    gives for the whole text, even when a chunk ends between the ``\n`` and ``\r`` of
    one line break. :meth:`feed` returns the lines completed so far."""

    def __init__(self) -> None:
        self.partial = ""
        # the break char the last chunk ended on; the start of the text counts as "\n"
        self._pending: str | None = "\n"
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def feed_bytes(self, data: bytes) -> list[str]:
        """:meth:`feed` for bytes read from the log (UTF-8, a character split between
        two reads is decoded whole)."""
        return self.feed(self._decoder.decode(data))

    def feed(self, text: str) -> list[str]:
        if self._pending is not None and text:
            other = "\r" if self._pending == "\n" else "\n"
            if text.startswith(other):
                text = text[1:]  # the second half of the break seen last time
            self._pending = None
        if not text:
            return []
        lines = _LINE_BREAK.split(self.partial + text)
        self.partial = lines.pop()
        if not self.partial and text[-1] in "\r\n":
            self._pending = text[-1]
        return lines


def strip_ansi(line: str) -> str:
    """``line`` without any escape sequence (other characters untouched)."""
    return _ESCAPE.sub("", line)


def clean_line(line: str, *, color: bool = False, width: int | None = LINE_CAP) -> str:
    """One log line (no line break in it: :func:`split_lines`) made safe to print.

    Escape sequences are dropped, except SGR colour codes when ``color`` (then the line
    ends with a reset, so a colour never bleeds into the next line); tabs become spaces
    (to 8-column stops); other control characters are shown as ``\\xNN``
    (:func:`parley.app.protocol.sanitize.escape_controls`). A line of
    more than ``width`` visible characters is cut and ends ``… (+N chars)``
    (``width=None``: never cut).
    """
    out: list[str] = []
    shown = 0  # visible characters kept
    total = 0  # visible characters seen
    styled = False
    pos = 0
    for m in [*_ESCAPE.finditer(line), None]:
        text = line[pos : m.start() if m else len(line)]
        if text:
            text = escape_controls(text)
            if "\t" in text:
                parts = text.split("\t")
                expanded = parts[0]
                for part in parts[1:]:
                    c = total + len(expanded)
                    expanded += " " * (8 - c % 8) + part
                text = expanded
            total += len(text)
            if width is None or shown < width:
                keep = text if width is None else text[: width - shown]
                out.append(keep)
                shown += len(keep)
        if m is None:
            break
        pos = m.end()
        seq = m.group()
        if (
            color
            and seq.startswith("\x1b[")
            and m.group("final") == "m"
            and _SGR_PARAMS.fullmatch(m.group("params") or "")
            and (width is None or shown < width)
        ):
            out.append(seq)
            styled = True
    if width is not None and total > width:
        out.append(f"… (+{total - width} chars)")
    if styled:
        out.append(_RESET)
    return "".join(out)


def clean_text(text: str, *, color: bool = False, width: int | None = None) -> str:
    """Every line of ``text`` through :func:`clean_line` (one output line per line)."""
    return "\n".join(clean_line(ln, color=color, width=width) for ln in split_lines(text))


def read_tail(path: Path | str, max_bytes: int = TAIL_BYTES, end: int | None = None) -> list[str]:
    """The raw lines of the last ``max_bytes`` of ``path`` before byte ``end`` (default:
    its end); [] if it is missing. The first line is dropped when the read starts
    mid-file (it may be cut)."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END) if end is None else end
            start = max(0, size - max_bytes)
            f.seek(start)
            data = f.read(size - start)
    except OSError:
        return []
    lines = split_lines(data.decode("utf-8", "replace"))
    return lines[1:] if start > 0 and lines else lines


def tail(
    path: Path | str, lines: int = 20, *, color: bool = True, width: int | None = LINE_CAP
) -> str:
    """The last ``lines`` lines of a log file, cleaned (:func:`clean_line`), joined
    with ``\\n`` ('' if the file is missing). Colour codes are kept by default: whoever
    prints the text renders them (a terminal, ``Text.from_ansi``) or strips them
    (:func:`clean_text` with ``color=False``)."""
    return "\n".join(clean_line(ln, color=color, width=width) for ln in read_tail(path)[-lines:])


# -- records -------------------------------------------------------------------------


@dataclass
class Record:
    """One log record: its level (``None`` for lines before any record header, e.g. a
    plain ``print``) and its lines (the header, then any traceback)."""

    level: str | None
    lines: list[str] = field(default_factory=list)

    @property
    def has_traceback(self) -> bool:
        return any(strip_ansi(ln).startswith(_TRACEBACK) for ln in self.lines)

    @property
    def exception(self) -> str | None:
        """The traceback's last line (``pkg.ErrorType: message``), if there is one."""
        if not self.has_traceback:
            return None
        for ln in reversed(self.lines):
            plain = strip_ansi(ln).strip()
            if plain and not ln.startswith((" ", "\t")):
                return plain
        return None


def records(lines: Iterable[str]) -> list[Record]:
    """Group raw log lines into records: a line that starts like a record header (time
    and level) opens a record, other lines continue the current one. A Python traceback
    printed on its own (an uncaught exception on stderr) opens a record of level
    ``ERROR``."""
    out: list[Record] = []
    for line in lines:
        plain = strip_ansi(line)
        head = _RECORD_HEAD.match(plain)
        if head:
            level = head.group("level")
            out.append(Record("WARNING" if level == "WARN" else level, [line]))
        elif plain.startswith(_TRACEBACK) and (not out or out[-1].level is None):
            out.append(Record("ERROR", [line]))
        elif out:
            out[-1].lines.append(line)
        else:
            out.append(Record(None, [line]))
    return out


def failure_lines(lines: Iterable[str], max_lines: int = 30) -> list[str]:
    """The raw lines worth showing when a turn failed or a tool errored: each record of
    level ERROR or CRITICAL, or carrying a traceback, with its first line and the last
    lines of its traceback (at most ``max_lines`` per record; ``…`` marks a cut)."""
    out: list[str] = []
    for rec in records(lines):
        if rec.level not in ("ERROR", "CRITICAL") and not rec.has_traceback:
            continue
        if len(rec.lines) <= max_lines:
            out.extend(rec.lines)
        else:
            cut = len(rec.lines) - max_lines + 1
            out.extend([rec.lines[0], f"… ({cut} lines left out; the agent log has them)"])
            out.extend(rec.lines[-(max_lines - 2) :])
    return out


# -- a job that fails before its session starts --------------------------------------

# log messages of livekit-agents that mean the job will never start its session
# (job_proc_lazy_main.py, job_thread_executor.py, supervised_proc.py, proc_pool.py)
_JOB_FAILED = (
    "unhandled exception while running the job task",
    "job exiting",
    "process exited with non-zero exit code",
    "error initializing process",
    "failed to launch job on process after",
    "failed to acquire process for job",
)


@dataclass
class JobFailure:
    """Why the agent's job ended before its session connected: ``message`` is one line
    (the exception, when there is one), ``detail`` the log records that tell it (the
    traceback's last lines, cleaned, colour kept)."""

    message: str
    detail: str


class JobFailureWatch:
    """Reads an agent log as it grows, while the agent boots, and spots the job's end.

    livekit-agents runs the job (the ``rtc_session`` entrypoint) in a thread of the agent
    process in ``console`` mode (a child process elsewhere); when the entrypoint raises
    before ``AgentSession.start`` it logs ``unhandled exception while running the job
    task`` with the traceback, then ``job exiting``, and the process stays up without
    ever dialling parley. :meth:`poll` returns a :class:`JobFailure` once that is seen
    and the records are complete (``job exiting`` logged, or ``settle`` seconds passed).
    """

    def __init__(self, path: Path | str, settle: float = 1.0, offset: int | None = None) -> None:
        self.path = path
        self.settle = settle
        if offset is None:  # only what this boot writes: by default from the log's end
            try:
                offset = os.path.getsize(path)
            except OSError:
                offset = 0
        self._offset = offset
        self._splitter = LineSplitter()
        self._lines: list[str] = []
        self._seen_at: float | None = None

    def poll(self, now: float) -> JobFailure | None:
        """Read what the log gained; ``now`` is ``time.monotonic()``."""
        if not self._read() and self._seen_at is None:
            return None  # nothing new, nothing pending: no lines to scan again
        plain = [strip_ansi(ln) for ln in self._lines]
        hits = [i for i, p in enumerate(plain) if any(marker in p for marker in _JOB_FAILED)]
        if not hits:
            return None
        if self._seen_at is None:
            self._seen_at = now
        done = any("job exiting" in plain[i] for i in hits) or any(
            "process exited" in plain[i] for i in hits
        )
        if not done and now - self._seen_at < self.settle:
            return None
        partial = self._splitter.partial
        lines = self._lines + ([partial] if partial else [])
        recs = records(lines)
        failed = [r for r in recs if r.level in ("ERROR", "CRITICAL") or r.has_traceback]
        exception = next((r.exception for r in reversed(failed) if r.exception), None)
        if exception is None and failed:
            exception = _message_of(failed[-1].lines[0])
        message = "the agent's job failed before its session started"
        if exception:
            message += f": {exception}"
        picked = failure_lines(lines) or [lines[i] for i in hits]
        return JobFailure(message, "\n".join(clean_line(ln, color=True) for ln in picked))

    def _read(self) -> bool:
        """Take in what the log gained; whether it gained anything."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read(4 * 1024 * 1024)
        except OSError:
            return False
        if not data:
            return False
        self._offset += len(data)
        self._lines.extend(self._splitter.feed_bytes(data))
        return True


def _message_of(header: str) -> str:
    """A record's message without its time and level."""
    plain = strip_ansi(header).strip()
    m = _RECORD_HEAD.match(plain)
    return plain[m.end() :].strip() if m else plain
