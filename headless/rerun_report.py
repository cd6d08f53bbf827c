"""``parley rerun`` output: per-turn lines and summaries as text, JSON lines, JUnit XML.

Text (colour only when asked, i.e. on a TTY without ``NO_COLOR``)::

    rerun 20261128-004512-ab12cd (/path/to/agent.py)
      = boot
      = turn 1  what's the weather in San Francisco?
      ✗ turn 2  look up booking ABC123
          > tool lookup_booking: output differs
              recorded: two nights at the Harbor Hotel, checking in on June 3.
              now:      three nights at the Harbor Hotel, checking in on June 3.
      = turn 3  look up booking ZZZ999  (after a divergence)
    FAIL 20261128-004512-ab12cd: 1 of 3 turns differ, first at turn 2; rerun recorded as …

Marks: ``=`` match, ``✗`` differs, ``!`` failed to run, ``-`` skipped, ``·`` not run.
The first difference of a turn is marked ``>`` (and bold red in colour). Agent, tool
and user text is data: control characters are shown escaped (``\\x1b``), never sent
to the terminal raw.

Standard library and :mod:`app` only.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from parley.app.daemon.rerun import RerunResult
from parley.app.session.compare import TurnResult

MARKS = {"match": "=", "differ": "✗", "failed": "!", "skipped": "-", "not_run": "·"}
_STYLE = {"=": "32", "✗": "1;31", "!": "1;31", "-": "2", "·": "2", "hl": "1;31", "dim": "2"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
TEXT_CAP = 300


def safe(text: str, cap: int = TEXT_CAP) -> str:
    """``text`` with control characters escaped (newlines and tabs become spaces) and
    cut to ``cap`` characters with ``…``."""
    text = text.replace("\n", " ").replace("\t", " ")
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text if len(text) <= cap else text[: cap - 1] + "…"


class TextReport:
    """Renders verdicts and summaries as the text above."""

    def __init__(self, color: bool = False, quiet: bool = False) -> None:
        self.color = color
        #: ``--check``: no lines for turns that match
        self.quiet = quiet

    def _c(self, style: str, text: str) -> str:
        return f"\x1b[{_STYLE[style]}m{text}\x1b[0m" if self.color else text

    def header(self, result_id: str, agent_file: str) -> str:
        return f"rerun {safe(result_id)} ({safe(agent_file)})\n"

    def turn(self, t: TurnResult) -> str:
        """The lines for one verdict ('' for a match with ``quiet``)."""
        if self.quiet and t.outcome in ("match", "skipped"):
            return ""
        mark = MARKS[t.outcome]
        name = "boot" if t.index == 0 else f"turn {t.index}"
        line = f"  {self._c(mark, mark)} {name}"
        if t.user_text is not None:
            line += f"  {safe(t.user_text, 80)}"
        if t.after_divergence:
            line += self._c("dim", "  (after a divergence)")
        if t.outcome in ("skipped", "not_run", "failed") and t.note:
            line += f"\n      {safe(t.note)}"
        out = [line]
        for n, d in enumerate(t.differences):
            head = f"{'>' if n == 0 else ' '} {safe(d.summary())}"
            out.append("      " + (self._c("hl", head) if n == 0 else head))
            if d.recorded is not None or d.what in ("changed", "status", "extra"):
                out.append(f"          recorded: {safe(d.recorded or '(nothing)')}")
            if d.now is not None or d.what in ("changed", "status", "missing"):
                out.append(f"          now:      {safe(d.now or '(nothing)')}")
        return "\n".join(out) + "\n"

    def summary(self, r: RerunResult) -> str:
        """The summary line of one recording."""
        c = r.counts()
        total = sum(c.values())
        rid = safe(r.recording.session_id)
        if r.error is not None:
            return self._c("✗", "ERROR") + f" {rid}: {safe(r.error, 2000)}\n"
        parts = []
        for key, label in (
            ("differ", "differ"),
            ("failed", "failed"),
            ("skipped", "skipped"),
            ("not_run", "not run"),
        ):
            if c[key]:
                parts.append(f"{c[key]} {label}")
        verdict = self._c("=", "PASS") if r.ok else self._c("✗", "FAIL")
        detail = f"{c['match']} of {total} turns match"
        if parts:
            detail += ", " + ", ".join(parts)
        if r.first_divergence is not None:
            where = "the boot" if r.first_divergence == 0 else f"turn {r.first_divergence}"
            detail += f"; first difference at {where}"
        if r.rerun_session_id:
            detail += f"; rerun recorded as {r.rerun_session_id}"
        return f"{verdict} {rid}: {detail}\n"


def json_turn(recording_id: str, t: TurnResult) -> str:
    """One JSON line for a verdict: ``{"type": "turn", "recording", ...}``."""
    obj = {"type": "turn", "recording": recording_id, **t.to_dict()}
    return json.dumps(obj, ensure_ascii=False) + "\n"


def json_summary(r: RerunResult) -> str:
    return json.dumps(r.to_dict(), ensure_ascii=False) + "\n"


def junit_xml(results: Sequence[RerunResult], compare: Sequence[str]) -> str:
    """A JUnit XML report: one ``testsuite`` "parley rerun", one ``testcase`` per
    recording (``classname`` the agent file), a ``failure`` (differences) or
    ``error`` (could not run) whose text lists every turn."""
    suite = ET.Element(
        "testsuite",
        name="parley rerun",
        tests=str(len(results)),
        failures=str(sum(1 for r in results if not r.ok and r.error is None)),
        errors=str(sum(1 for r in results if r.error is not None)),
    )
    ET.SubElement(
        ET.SubElement(suite, "properties"),
        "property",
        name="compare",
        value=",".join(compare),
    )
    report = TextReport()
    for r in results:
        case = ET.SubElement(suite, "testcase", name=r.recording.session_id, classname=r.agent_file)
        details = "".join(report.turn(t) for t in r.turns) + report.summary(r)
        if r.error is not None:
            ET.SubElement(case, "error", message=safe(r.error, 500)).text = details
        elif not r.ok:
            first = r.first_divergence
            msg = "the boot differs" if first == 0 else f"turn {first} differs"
            ET.SubElement(case, "failure", message=msg).text = details
        else:
            ET.SubElement(case, "system-out").text = details
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, "unicode") + "\n"
