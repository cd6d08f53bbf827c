"""An agent whose job fails before its session starts, as one using an avatar plugin does
when the avatar service cannot be reached: the entrypoint raises before
``AgentSession.start``.

Run:  python -m livekit.agents console testdata/agents/job_fails.py --connect-addr 127.0.0.1:PORT

What livekit-agents 1.8.9 does with it (measured): the job runner logs ``unhandled exception
while running the job task`` with the traceback, then ``job exiting`` (reason ``job
crashed``); the agent never dials the connect address and its process stays up.

Knobs: env ``PARLEY_TEST_JOB_FAIL_DELAY`` (seconds, default 0) waits before raising, as a
plugin that times out does.
"""

from __future__ import annotations

import asyncio
import os

from livekit.agents import AgentServer, JobContext

AVATAR_URL = "https://avatar.invalid/v1/sessions"


class AvatarConnectionError(Exception):
    """What an avatar plugin raises when its service is unreachable."""


async def start_avatar(url: str) -> None:
    delay = float(os.environ.get("PARLEY_TEST_JOB_FAIL_DELAY") or 0)
    if delay:
        await asyncio.sleep(delay)
    raise AvatarConnectionError(f"could not reach the avatar service at {url}: connection refused")


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    await start_avatar(AVATAR_URL)  # raises: the session below never starts
