"""An agent whose function tool raises a plain exception (not a ``ToolError``).

Run:  python -m livekit.agents console testdata/agents/tool_raises.py --connect-addr 127.0.0.1:PORT

livekit-agents 1.8.9 logs the exception with its traceback in the agent's own log and sends
the model, and the ``lk.agent.session`` protocol, only "An internal error occurred" with
``is_error``: the cause is visible in the log alone.

Triggers (agent id ``inventory``, no greeting):
  "stock X"     -> check_stock(item=X) raises RuntimeError("inventory database unreachable:
                   connection to db.internal:5432 refused") -> "Sorry, the stock check failed."
  "log N"       -> log_lines(count=N) writes N lines to the agent log (logger
                   ``inventory``), returns "logged N lines" -> "Done: logged N lines."
  anything else -> "I can check stock."
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from livekit.agents import Agent, AgentServer, AgentSession, JobContext, function_tool  # noqa: E402
from scripted_llm import Rule, ScriptedLLM, SilentTTS  # noqa: E402

DB_ERROR = "inventory database unreachable: connection to db.internal:5432 refused"

logger = logging.getLogger("inventory")


class InventoryAgent(Agent):
    def __init__(self) -> None:
        super().__init__(id="inventory", instructions="Check stock with check_stock.")

    @function_tool
    async def check_stock(self, item: str) -> str:
        """Check how many units of ``item`` are in stock."""
        return _query(item)

    @function_tool
    async def log_lines(self, count: int) -> str:
        """Write ``count`` lines to the agent log."""
        for i in range(1, count + 1):
            logger.info("inventory log line %d of %d", i, count)
        return f"logged {count} lines"


def _query(item: str) -> str:
    raise RuntimeError(DB_ERROR)


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    rules = [
        Rule(r"\bstock\s+(\w+)", call="check_stock", args=lambda m, t: {"item": m.group(1)}),
        Rule(r"\blog\s+(\d+)", call="log_lines", args=lambda m, t: {"count": int(m.group(1))}),
    ]
    replies = {
        "check_stock": lambda a, o, err: "Sorry, the stock check failed." if err else o,
        "log_lines": lambda a, o, err: f"Done: {o}.",
    }
    session: AgentSession[None] = AgentSession(
        llm=ScriptedLLM(rules, fallback="I can check stock.", tool_replies=replies),
        tts=SilentTTS(),
    )
    await session.start(agent=InventoryAgent(), room=ctx.room)
