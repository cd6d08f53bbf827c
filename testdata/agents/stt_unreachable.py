"""An agent whose STT cannot reach its service, as LiveKit's Python template does offline.

The template's STT (``inference.STT``) opens its connection at boot even in text mode; when
it cannot connect, the framework's retry loop (``RecognizeStream._main_task``) reports each
failed attempt as an ``error`` event, ``STTError(..., recoverable=True)``, while the agent
goes on answering typed turns. This agent reproduces that offline: ``UnreachableSTT``'s
stream raises a retryable ``APIConnectionError``; the session retries it every 0.3 s,
up to 10000 times (``SessionConnectOptions.stt_conn_options``). The model is the echo
agent's (``echo: <text>``).

Run:  python -m livekit.agents console testdata/agents/stt_unreachable.py --connect-addr ...
Agent id: ``echo``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from livekit.agents import (  # noqa: E402
    Agent,
    AgentServer,
    AgentSession,
    APIConnectionError,
    APIConnectOptions,
    JobContext,
    stt,
)
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr  # noqa: E402
from livekit.agents.utils import AudioBuffer  # noqa: E402
from livekit.agents.voice.agent_session import SessionConnectOptions  # noqa: E402
from scripted_llm import Rule, ScriptedLLM, SilentTTS  # noqa: E402


class UnreachableSTT(stt.STT):
    """A streaming STT whose service never answers (a retryable connection error)."""

    def __init__(self) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=False))

    @property
    def model(self) -> str:
        return "unreachable"

    @property
    def provider(self) -> str:
        return "parley-testdata"

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        raise APIConnectionError("cannot reach the STT service")

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.RecognizeStream:
        return _UnreachableStream(stt=self, conn_options=conn_options)


class _UnreachableStream(stt.RecognizeStream):
    async def _run(self) -> None:
        raise APIConnectionError("cannot reach the STT service")


class EchoAgent(Agent):
    def __init__(self) -> None:
        super().__init__(id="echo", instructions="Repeat every user message back.")


server = AgentServer()


@server.rtc_session()
async def entrypoint(ctx: JobContext) -> None:
    session: AgentSession[None] = AgentSession(
        stt=UnreachableSTT(),
        llm=ScriptedLLM([Rule(r".", say=lambda _m, text: f"echo: {text}")], fallback="echo: "),
        tts=SilentTTS(),
        conn_options=SessionConnectOptions(
            stt_conn_options=APIConnectOptions(max_retry=10000, retry_interval=0.3, timeout=5.0)
        ),
    )
    await session.start(agent=EchoAgent(), room=ctx.room)
