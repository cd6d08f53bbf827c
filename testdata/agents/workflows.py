"""Front desk: an agent built on livekit-agents' workflows, the shapes LiveKit's published
examples use (``beta.workflows`` tasks, ``RunContext.update`` progress, a TTS with latency).

Run:  python -m livekit.agents console testdata/agents/workflows.py --connect-addr 127.0.0.1:PORT

Agents: "front_desk" (first). Its tools hand the conversation to AgentTasks and back:
``intro_task`` (a custom AgentTask asking the user's name), ``get_email_task`` (livekit's own
``GetEmailTask``) and ``task_group`` (a ``TaskGroup`` of both). Every model is ScriptedLLM.

Triggers, front_desk (tests rely on these; one line each):
  (on enter)      -> GREETING (spoken through the TTS, so it arrives after its latency)
  "register"      -> register(): awaits GetEmailTask -> handoff front_desk -> get_email_task,
                     which asks EMAIL_QUESTION; the user's next message with an email completes
                     it -> handoff back -> register's output "registered <email>" -> REGISTERED
  "onboard"       -> onboard(): awaits a TaskGroup(intro_task, get_email_task): NAME_QUESTION,
                     then (after "I'm <name>") EMAIL_QUESTION, then (after an email) the output
                     "onboarded <name> <email>" -> ONBOARDED
  "search [N]"    -> search_rooms(seconds=N, default 1): RunContext.update(SEARCH_UPDATE_1),
                     N/2 s, update(SEARCH_UPDATE_2), N/2 s, returns SEARCH_RESULT; the model
                     answers the first update at once (SEARCH_STILL) and the later ones in
                     deferred replies (reply_updated), the last one SEARCH_DONE
  "check"         -> check_availability(): says HOLD (session.say, not awaited) and returns
                     AVAILABILITY -> AVAILABLE
  "time"          -> current_time(): a session-level tool (AgentSession(tools=[...])) -> TIME
  "bye"           -> end_call (EndCallTool) -> GOODBYE, the agent ends the session
  "explode"       -> model failure: APIStatusError("scripted model failure", retryable=False)
  anything else   -> FALLBACK
Triggers, intro_task: "I'm <name>" / "my name is <name>" -> record_name -> completes with <name>.
Triggers, get_email_task: any email address -> update_email_address -> completes with it.

Knobs (environment):
  PARLEY_TEST_TTS_LATENCY  seconds before the TTS answers (default 0.2, a network TTS)
  PARLEY_TEST_BOOT_TASKS=1 front_desk's on_enter runs the TaskGroup at boot (the session then
                           starts in intro_task) and greets only after it
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from livekit.agents import (  # noqa: E402
    Agent,
    AgentServer,
    AgentSession,
    AgentTask,
    JobContext,
    RunContext,
    function_tool,
)
from livekit.agents.beta import EndCallTool  # noqa: E402
from livekit.agents.beta.workflows import GetEmailTask, TaskGroup  # noqa: E402
from scripted_llm import Rule, ScriptedLLM, SilentTTS  # noqa: E402

GREETING = "Welcome to the front desk! I can register you, search rooms or check availability."
FALLBACK = "I can register you, onboard you, search rooms or check availability."
NAME_QUESTION = "Welcome! What's your name?"
EMAIL_QUESTION = "What's your email address?"
REGISTERED = "Thanks, you're registered."
ONBOARDED = "All set, you're onboarded."
SEARCH_UPDATE_1 = "Searching rooms…"
SEARCH_UPDATE_2 = "Checking prices…"
SEARCH_RESULT = "Found 3 rooms from $120 a night."
SEARCH_STILL = "I'm searching, one moment."
SEARCH_DONE = "I found 3 rooms from $120 a night."
HOLD = "Please hold while I check."
AVAILABILITY = "Room 12 is free tonight."
AVAILABLE = "Good news: room 12 is free tonight."
TIME = "It is noon at the front desk."
GOODBYE = "Goodbye, and enjoy your stay!"
FAILURE = "scripted model failure"
EMAIL_RE = r"(?P<email>[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})"


def _tts() -> SilentTTS:
    try:
        latency = float(os.environ.get("PARLEY_TEST_TTS_LATENCY", "0.2"))
    except ValueError:
        latency = 0.2
    return SilentTTS(latency=latency)


def _search_reply(_args: dict, output: str, is_error: bool) -> str:
    if is_error:
        return f"Sorry, the search failed. {output}"
    return SEARCH_DONE if SEARCH_RESULT in output else SEARCH_STILL


def front_desk_llm() -> ScriptedLLM:
    return ScriptedLLM(
        [
            Rule(r"\bregister\b", call="register"),
            Rule(r"\bonboard", call="onboard"),
            Rule(
                r"\bsearch\b(?:\s+(?P<s>\d+(?:\.\d+)?))?",
                call="search_rooms",
                args=lambda m, _t: {"seconds": float(m.group("s") or 1)},
            ),
            Rule(r"\bcheck\b", call="check_availability"),
            Rule(r"\btime\b", call="current_time"),
            Rule(r"\b(?:good)?bye\b", call="end_call"),
            Rule(r"\bexplode\b", fail=FAILURE),
        ],
        greeting=GREETING,
        fallback=FALLBACK,
        tool_replies={
            "register": lambda a, o, err: REGISTERED,
            "onboard": lambda a, o, err: ONBOARDED,
            "search_rooms": _search_reply,
            "check_availability": lambda a, o, err: AVAILABLE,
            "current_time": lambda a, o, err: TIME,
            "end_call": lambda a, o, err: GOODBYE,
        },
    )


def email_llm() -> ScriptedLLM:
    return ScriptedLLM(
        [
            Rule(
                EMAIL_RE,
                call="update_email_address",
                args=lambda m, _t: {"email": m.group("email")},
            )
        ],
        greeting=EMAIL_QUESTION,
        fallback="Please type your email address.",
        tool_replies={"update_email_address": lambda a, o, err: f"Got it: {a.get('email')}."},
    )


class IntroTask(AgentTask[str]):
    """Asks the user's name; completes with it."""

    def __init__(self) -> None:
        super().__init__(
            instructions="Ask the user's name and record it.",
            llm=ScriptedLLM(
                [
                    Rule(
                        r"(?:i'm|i am|name is|call me)\s+(?P<n>\w+)",
                        call="record_name",
                        args=lambda m, _t: {"name": m.group("n")},
                    )
                ],
                greeting=NAME_QUESTION,
                fallback="Please tell me your name.",
            ),
        )

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Ask the user's name.")

    @function_tool
    async def record_name(self, context: RunContext, name: str) -> None:
        """Record the user's name.

        Args:
            name: The user's first name.
        """
        if not self.done():
            self.complete(name)


def _task_group() -> TaskGroup:
    return (
        TaskGroup(summarize_chat_ctx=False)
        .add(IntroTask, id="intro_task", description="Asks the user's name")
        .add(
            lambda: GetEmailTask(llm=email_llm()),
            id="get_email_task",
            description="Asks the user's email address",
        )
    )


class FrontDesk(Agent):
    def __init__(self) -> None:
        super().__init__(
            id="front_desk",
            instructions="You are a hotel front desk.",
            llm=front_desk_llm(),
            tools=[EndCallTool(delete_room=False)],
        )

    async def on_enter(self) -> None:
        if os.environ.get("PARLEY_TEST_BOOT_TASKS") == "1":
            await _task_group()
        self.session.generate_reply(instructions="Greet the user and say what you can do.")

    @function_tool
    async def register(self, context: RunContext) -> str:
        """Register the user: collects their email address."""
        result = await GetEmailTask(llm=email_llm())
        return f"registered {result.email_address}"

    @function_tool
    async def onboard(self, context: RunContext) -> str:
        """Onboard the user: collects their name and email address."""
        result = await _task_group()
        name = result.task_results["intro_task"]
        email = result.task_results["get_email_task"].email_address
        return f"onboarded {name} {email}"

    @function_tool
    async def search_rooms(self, context: RunContext, seconds: float = 1.0) -> str:
        """Search free rooms; reports progress while it runs.

        Args:
            seconds: How long the search takes, in seconds.
        """
        await context.update(SEARCH_UPDATE_1)
        await asyncio.sleep(max(0.0, seconds) / 2)
        await context.update(SEARCH_UPDATE_2)
        await asyncio.sleep(max(0.0, seconds) / 2)
        return SEARCH_RESULT

    @function_tool
    async def check_availability(self, context: RunContext) -> str:
        """Check tonight's availability (asks the user to hold meanwhile)."""
        context.session.say(HOLD)
        await asyncio.sleep(0.05)
        return AVAILABILITY


@function_tool
async def current_time(context: RunContext) -> str:
    """Tell the current time at the front desk."""
    return "12:00"


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    session: AgentSession[None] = AgentSession(tts=_tts(), tools=[current_time])
    await session.start(agent=FrontDesk(), room=ctx.room)
