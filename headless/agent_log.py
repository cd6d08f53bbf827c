"""Agent-log lines in ``parley say`` output: ``say --logs`` interleaves them with the
turn's items, and a failed tool or turn shows its traceback on stderr without asking.

Text form (LiveKit's ``lk agent debugger`` shows the same bar)::

      │ 00:45:02 ERROR livekit.agents exception occurred while executing tool {…}
      │ Traceback (most recent call last):
      │ RuntimeError: inventory database unreachable

JSON form (``say --json --logs``), one object per line, never counted in ``seq``::

    {"v": 1, "type": "agent_log", "turn_id": "t3", "ts": 1795357070.05, "line": "…"}

``line`` is the log line without escape sequences (colour codes stripped; other control
characters stay, JSON-escaped). On a terminal, text lines keep the agent's colours unless
``NO_COLOR``; control characters are shown as ``\\xNN`` and long lines are cut
(:func:`parley.app.agent.agentlog.clean_line`).

Standard library only: the ``say`` path loads it.
"""

from __future__ import annotations

import json
import time

from parley.app.agent.agentlog import LINE_CAP, clean_line, strip_ansi
from parley.app.errors import command_hint
from parley.app.protocol.items import SCHEMA_VERSION

BAR = "│"


def render_log_lines(lines: list[str], color: bool = False) -> str:
    """Raw agent-log lines as text: ``  │ <line>`` each, newline-terminated."""
    bar = f"\x1b[2m{BAR}\x1b[0m" if color else BAR
    return "".join(
        f"  {bar} {clean_line(ln, color=color, width=LINE_CAP)}".rstrip() + "\n" for ln in lines
    )


def render_log_json(lines: list[str], turn_id: str | None) -> str:
    """Raw agent-log lines as ``agent_log`` JSON objects, one per line."""
    ts = round(time.time(), 3)
    return "".join(
        json.dumps(
            {
                "v": SCHEMA_VERSION,
                "type": "agent_log",
                "turn_id": turn_id,
                "ts": ts,
                "line": strip_ansi(ln),
            },
            ensure_ascii=False,
        )
        + "\n"
        for ln in lines
    )


def failure_header(color: bool = False, name: str | None = None) -> str:
    """The line above the traceback a failed tool or turn shows on stderr; its hint
    names session ``name`` (``parley logs -s NAME``)."""
    logs = command_hint("logs", name)
    text = f"parley: from the agent log (`{logs}` shows all of it):"
    return (f"\x1b[1;31m{text}\x1b[0m" if color else text) + "\n"
