"""The asyncio control client: what the Textual UI uses to talk to a daemon.

Same JSON-lines ops as :mod:`parley.app.daemon.client` (see :mod:`parley.app.daemon.ops`),
one connection per request, on the caller's event loop. The UI never talks to the agent any other
way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from parley.app.daemon.client import ControlError, request_lines
from parley.app.daemon.state import SessionState
from parley.app.protocol import items as it
from parley.app.protocol.limits import CONTROL_LINE_LIMIT
from parley.app.protocol.shapes import AgentInfo, DaemonStatus, agent_info, daemon_status


class AsyncControlClient:
    """Requests to one daemon. Raises :class:`parley.app.daemon.client.ControlError` for an error
    answer and ``OSError`` when the daemon cannot be reached."""

    def __init__(self, state: SessionState) -> None:
        self.state = state

    async def stream(self, op: str, **args: Any) -> AsyncIterator[dict[str, Any]]:
        """Send one request and yield every JSON message until the daemon closes."""
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", self.state.control_port, limit=CONTROL_LINE_LIMIT
        )
        try:
            writer.write(request_lines(self.state.token, op, args))
            await writer.drain()
            while line := await reader.readline():
                msg = json.loads(line)
                if msg.get("event") == "error":
                    raise ControlError(msg.get("error", "error"), msg.get("kind"))
                yield msg
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        """A request with one answer."""
        async for msg in self.stream(op, **args):
            return msg
        raise ConnectionError("the daemon closed the connection without answering")

    async def follow(self, since: int = 0) -> AsyncIterator[it.ChatItem]:
        """Every item with ``seq > since``, then each new one until the session ends.

        Raises ``ConnectionError`` when the daemon closes the stream without ending it
        (it was killed or crashed)."""
        async for msg in self.stream("events", since=since, follow=True):
            if msg.get("event") == "item":
                yield it.item_from_dict(msg["item"])
            elif msg.get("event") == "end":
                return
        raise ConnectionError("the daemon went away without ending the session (it died)")

    async def say(self, text: str) -> str:
        """Queue a turn without waiting for it; returns its ``turn_id``.

        Raises :class:`ControlError` (``kind="input"`` for empty or oversized text,
        ``"agent"`` when the agent is gone)."""
        msg = await self.call("say", text=text, wait=False)
        return str(msg["turn_id"])

    async def cancel(self, turn_id: str | None = None) -> list[str]:
        """Cancel the running and queued turns (or ``turn_id`` only)."""
        return list((await self.call("cancel", turn_id=turn_id)).get("turns", []))

    async def agent_info(self) -> AgentInfo:
        """The current agent (the daemon's ``agent_info`` answer)."""
        return agent_info(await self.call("agent_info"))

    async def status(self) -> DaemonStatus:
        """The daemon's ``status`` answer, checked field by field
        (:func:`parley.app.protocol.shapes.daemon_status`)."""
        return daemon_status(await self.call("status"))

    async def restart(self) -> AgentInfo:
        """Restart the agent in place; returns its new agent info."""
        return agent_info((await self.call("restart")).get("agent_info") or {})

    async def stop(self) -> None:
        """Ask the daemon to stop the agent and exit (returns once it said so)."""
        await self.call("stop")
