"""Echo agent: a real livekit-agents agent whose scripted model answers every message with
``echo: <user text>`` (the text verbatim, stripped). No greeting, no tools.

Run:  python -m livekit.agents console testdata/agents/echo.py --connect-addr 127.0.0.1:PORT

Knobs:
- a message starting with ``slow N`` (N seconds, int or float, e.g. ``slow 3 hello``) waits
  N seconds before replying ``echo: slow 3 hello``; use it to hold a turn open.
- env ``PARLEY_TEST_ECHO_DELAY`` (seconds, default 0): delay before every other reply.

Agent id: ``echo``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from livekit.agents import Agent, AgentServer, AgentSession, JobContext  # noqa: E402
from scripted_llm import Rule, ScriptedLLM, SilentTTS  # noqa: E402

_SLOW = re.compile(r"^\s*slow\s+(\d+(?:\.\d+)?)\b", re.IGNORECASE)


def _echo(_m: re.Match, text: str) -> str:
    return f"echo: {text}"


def _delay(_m: re.Match, text: str) -> float:
    if m := _SLOW.match(text):
        return float(m.group(1))
    try:
        return float(os.environ.get("PARLEY_TEST_ECHO_DELAY") or 0)
    except ValueError:
        return 0.0


class EchoAgent(Agent):
    def __init__(self) -> None:
        super().__init__(
            id="echo",
            instructions="Repeat every user message back, prefixed with 'echo: '.",
        )


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    session: AgentSession[None] = AgentSession(
        llm=ScriptedLLM([Rule(r".", say=_echo, delay=_delay)], fallback="echo: "),
        tts=SilentTTS(),
    )
    await session.start(agent=EchoAgent(), room=ctx.room)
