"""parley demo: a small travel concierge with a billing desk (two agents, scripted model).

Run:  parley demo  (the chat UI), parley start --demo  (headless), or by hand:
      python -m livekit.agents console app/demo/agent.py --connect-addr 127.0.0.1:PORT
It runs on parley's own Python, which has livekit-agents with ``pip install 'parley[demo]'``.

Agents (explicit ids): "concierge" (first) and "billing"; each greets in on_enter. The model is
ScriptedLLM (one per agent), the TTS is SilentTTS. A rule matches by case-insensitive regex
search in the user's message; first rule wins. Exact replies are the constants/lambdas below.

Triggers, concierge (tests rely on these; one line each):
  (on enter)      -> "Hi! I'm your travel concierge. I can check the weather, look up a ..."
  "weather in X"  -> lookup_weather(location=X) -> "The weather in X is sunny with a temperature..."
  "booking ABC123"-> lookup_booking ok -> "Your booking ABC123 is two nights at the Harbor Hotel..."
  "booking OTHER" -> lookup_booking raises ToolError("No booking found with number OTHER.")
  "slow [N]"      -> slow_search(seconds=N, default 3) -> "The search took N seconds and found ..."
  "billing"       -> transfer_to_billing() -> handoff concierge -> billing (no concierge reply)
  "bye"/"goodbye" -> end_call (EndCallTool) -> "Goodbye, and have a great trip!", session ends
  "explode"       -> model failure: APIStatusError("scripted model failure", retryable=False)
  anything else   -> "I can check the weather, look up a booking, run a slow search, or ..."
Triggers, billing:
  (on enter)      -> "Hi, this is billing. I can check your balance or take you back to ..."
  "balance"       -> check_balance() -> "$42.00" -> "Your balance is $42.00."
  "concierge"     -> transfer_to_concierge() -> handoff billing -> concierge (greets again)
  "bye"/"goodbye" -> end_call, as above;  "explode" -> model failure, as above
  anything else   -> "I can only help with billing here. Say concierge to go back."
Examples: "what's the weather in San Francisco?" -> "The weather in San Francisco is sunny with a
temperature of 70 degrees." ; "look up booking ZZZ999" -> "Sorry, I couldn't find that booking.
No booking found with number ZZZ999." (booking ids are upper-cased before the lookup).
"""

from __future__ import annotations

import asyncio

from livekit.agents import (
    Agent,
    AgentServer,
    AgentSession,
    JobContext,
    RunContext,
    function_tool,
)
from livekit.agents.beta import EndCallTool
from livekit.agents.llm import ToolError

from parley.app.demo.scripted_llm import Rule, ScriptedLLM, SilentTTS

WEATHER = "sunny with a temperature of 70 degrees."
BOOKINGS = {"ABC123": "two nights at the Harbor Hotel, checking in on June 3."}
BALANCE = "$42.00"
GOODBYE = "Goodbye, and have a great trip!"
FAILURE = "scripted model failure"


def _num(s: str | None, default: float) -> float:
    try:
        return float(s) if s else default
    except ValueError:
        return default


def _fmt_seconds(x: object) -> str:
    try:
        return f"{float(x):g}"  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x)


_COMMON_TAIL = [
    Rule(r"\b(?:good)?bye\b", call="end_call"),
    Rule(r"\bexplode\b", fail=FAILURE),
]


def concierge_llm() -> ScriptedLLM:
    return ScriptedLLM(
        [
            Rule(
                r"\bweather (?:in|for|at) (?P<loc>[^?.!,]+)",
                call="lookup_weather",
                args=lambda m, _t: {"location": m.group("loc").strip()},
            ),
            Rule(
                r"\bbooking\s+(?:number\s+|#)?(?P<id>[A-Za-z0-9-]+)",
                call="lookup_booking",
                args=lambda m, _t: {"booking_id": m.group("id").upper()},
            ),
            Rule(
                r"\bslow\b(?:\s+search)?(?:\s+(?P<s>\d+(?:\.\d+)?))?",
                call="slow_search",
                args=lambda m, _t: {"seconds": _num(m.group("s"), 3.0)},
            ),
            Rule(r"\bbilling\b", call="transfer_to_billing"),
            *_COMMON_TAIL,
        ],
        greeting=(
            "Hi! I'm your travel concierge. I can check the weather, look up a booking, "
            "or connect you to billing."
        ),
        fallback=(
            "I can check the weather, look up a booking, run a slow search, "
            "or connect you to billing."
        ),
        tool_replies={
            "lookup_weather": lambda a, o, err: (
                f"Sorry, I couldn't get the weather. {o}"
                if err
                else f"The weather in {a.get('location', 'there')} is {o}"
            ),
            "lookup_booking": lambda a, o, err: (
                f"Sorry, I couldn't find that booking. {o}"
                if err
                else f"Your booking {a.get('booking_id', '')} is {o}"
            ),
            "slow_search": lambda a, o, err: f"Sorry, the search failed. {o}" if err else o,
            "end_call": lambda a, o, err: GOODBYE,
        },
    )


def billing_llm() -> ScriptedLLM:
    return ScriptedLLM(
        [
            Rule(r"\bbalance\b", call="check_balance"),
            Rule(r"\bconcierge\b", call="transfer_to_concierge"),
            *_COMMON_TAIL,
        ],
        greeting=(
            "Hi, this is billing. I can check your balance or take you back to the concierge."
        ),
        fallback="I can only help with billing here. Say concierge to go back.",
        tool_replies={
            "check_balance": lambda a, o, err: f"Your balance is {o}.",
            "end_call": lambda a, o, err: GOODBYE,
        },
    )


def _end_call_tool() -> EndCallTool:
    # delete_room=False: console mode runs a fake job, there is no room to delete
    return EndCallTool(delete_room=False)


class ConciergeAgent(Agent):
    def __init__(self) -> None:
        super().__init__(
            id="concierge",
            instructions=(
                "You are a friendly travel concierge. You check the weather, look up "
                "bookings and hand billing questions to the billing desk."
            ),
            llm=concierge_llm(),
            tools=[_end_call_tool()],
        )

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Greet the user and say what you can do.")

    @function_tool
    async def lookup_weather(self, context: RunContext, location: str) -> str:
        """Look up the current weather for a location.

        Args:
            location: The city or place, e.g. "San Francisco".
        """
        return WEATHER

    @function_tool
    async def lookup_booking(self, context: RunContext, booking_id: str) -> str:
        """Look up a travel booking by its booking number.

        Args:
            booking_id: The booking number, e.g. "ABC123".
        """
        details = BOOKINGS.get(booking_id.strip().upper())
        if details is None:
            raise ToolError(f"No booking found with number {booking_id}.")
        return details

    @function_tool
    async def slow_search(self, context: RunContext, seconds: float = 3.0) -> str:
        """Search hotels; slow on purpose (takes `seconds` seconds).

        Args:
            seconds: How long the search takes, in seconds.
        """
        await asyncio.sleep(max(0.0, float(seconds)))
        return f"The search took {_fmt_seconds(seconds)} seconds and found 3 hotels."

    @function_tool
    async def transfer_to_billing(self, context: RunContext) -> Agent:
        """Transfer the user to the billing desk."""
        return BillingAgent()


class BillingAgent(Agent):
    def __init__(self) -> None:
        super().__init__(
            id="billing",
            instructions="You are the billing desk. You tell users their balance.",
            llm=billing_llm(),
            tools=[_end_call_tool()],
        )

    async def on_enter(self) -> None:
        self.session.generate_reply(instructions="Greet the user as the billing desk.")

    @function_tool
    async def check_balance(self, context: RunContext) -> str:
        """Return the user's current balance."""
        return BALANCE

    @function_tool
    async def transfer_to_concierge(self, context: RunContext) -> Agent:
        """Transfer the user back to the travel concierge."""
        return ConciergeAgent()


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    session: AgentSession[None] = AgentSession(tts=SilentTTS())
    await session.start(agent=ConciergeAgent(), room=ctx.room)
