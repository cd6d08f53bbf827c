"""Worker agent: a build assistant whose tools take time or say a lot (scripted model).

Run:  python -m livekit.agents console testdata/agents/worker.py --connect-addr 127.0.0.1:PORT

Agent id: ``worker``. Triggers (case-insensitive; first rule wins):
  "run the tests"   -> run_tests() -> a 40-line test report (first line
                       "collected 40 items"), reply "The tests ran: 40 passed."
  "build [N]"       -> start_build(seconds=N, default 1) -> "Build started." at once; the
                       build runs in the background and, N seconds later, the agent says
                       "The build finished: all 40 tests passed." on its own (session.say),
                       an item no turn asked for
  "think N ..."     -> waits N seconds before the first token, then "Done thinking."
  anything else     -> "I can run the tests or start a build."
No greeting.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from livekit.agents import (  # noqa: E402
    Agent,
    AgentServer,
    AgentSession,
    JobContext,
    RunContext,
    function_tool,
)
from scripted_llm import Rule, ScriptedLLM, SilentTTS  # noqa: E402

REPORT = "collected 40 items\n" + "\n".join(
    f"tests/test_build.py::test_step_{i:02d} PASSED" for i in range(1, 40)
)
BUILD_DONE = "The build finished: all 40 tests passed."


def _num(s: str | None, default: float) -> float:
    try:
        return float(s) if s else default
    except ValueError:
        return default


class WorkerAgent(Agent):
    def __init__(self) -> None:
        super().__init__(
            id="worker",
            instructions="Run the tests or start builds when asked.",
        )
        self._builds: set[asyncio.Task[None]] = set()

    @function_tool
    async def run_tests(self, context: RunContext) -> str:
        """Run the test suite and return its report."""
        return REPORT

    @function_tool
    async def start_build(self, context: RunContext, seconds: float = 1.0) -> str:
        """Start a build in the background; the agent reports when it finishes."""
        session = context.session

        async def build() -> None:
            await asyncio.sleep(seconds)
            session.say(BUILD_DONE)

        task = asyncio.create_task(build())
        self._builds.add(task)
        task.add_done_callback(self._builds.discard)
        return "Build started."


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    model = ScriptedLLM(
        [
            Rule(r"\brun the tests\b", call="run_tests"),
            Rule(
                r"\bbuild\b(?:\s+(?P<s>\d+(?:\.\d+)?))?",
                call="start_build",
                args=lambda m, _t: {"seconds": _num(m.group("s"), 1.0)},
            ),
            Rule(
                r"^\s*think\s+(?P<s>\d+(?:\.\d+)?)",
                say="Done thinking.",
                delay=lambda m, _t: _num(m.group("s"), 0.0),
            ),
        ],
        fallback="I can run the tests or start a build.",
        tool_replies={
            "run_tests": lambda a, o, err: "The tests ran: 40 passed.",
            "start_build": lambda a, o, err: "Build started. I'll tell you when it is done.",
        },
    )
    session: AgentSession[None] = AgentSession(llm=model, tts=SilentTTS())
    await session.start(agent=WorkerAgent(), room=ctx.room)
