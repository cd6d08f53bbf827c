"""A deterministic, offline ``livekit.agents.llm.LLM`` driven by keyword rules.

The demo agent and the testdata agents run on the real livekit-agents framework end to end;
only the model is scripted. No network, no API keys, same input -> same output.

How a response is chosen (``ScriptedLLM.chat`` looks at the chat context it is given):

1. The last relevant item is a function call output (a tool just finished): reply with one
   final sentence per output, built by ``tool_replies[name](args, output, is_error)`` (or a
   generic sentence). Never calls a tool.
2. The last relevant item is a user message: the first ``Rule`` whose ``match`` regex is
   found in the text (case-insensitive) decides: say a text, call a tool, or fail. No rule
   matches -> ``fallback``.
3. The last item is the system message of a deferred tool reply (livekit's "New results
   arrived from background tool calls (call_ids: [...])", after ``RunContext.update``): reply
   to those outputs as in 1.
4. Anything else (nothing, an assistant message, or the system message that
   ``generate_reply(instructions=...)`` appends, i.e. an ``on_enter`` greeting): say
   ``greeting``.

"Relevant" skips handoff / config-update items and the in-progress placeholders the
framework injects for tools still running from an earlier turn.

Traps this class handles (measured against livekit-agents 1.8.9):

- ``chat()`` accepts every keyword the framework passes (``tools``, ``conn_options``,
  ``parallel_tool_calls``, ``tool_choice``, ``extra_kwargs``) and honours
  ``tool_choice="none"`` (text only: after ``max_tool_steps`` the framework demands a final
  answer, and a script that keeps calling tools would end the turn silently).
- A rule only calls a tool that is in the ``tools`` list of *this* request (the current
  agent's tools); otherwise it says ``unavailable_tool_reply``. Give every agent its own
  ``ScriptedLLM`` (``Agent(llm=...)``) with its own rules.
- ``model`` / ``provider`` are overridden and every response ends with a usage chunk, so
  usage and metrics events fire with real names instead of "unknown".
- A scripted failure raises ``APIStatusError(..., retryable=False)``: it fails the turn at
  once instead of costing ~4 s of retries.

``SilentTTS`` is the matching offline TTS: a few milliseconds of silence per word. Use it so
the agent behaves like a real voice agent. Without any TTS, a reply that starts before the
client's ``update_io`` lands (the ``on_enter`` greeting at boot) fails in ``tts_node`` with
"no TTS node is available" and is never added to the conversation.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import APIConnectOptions, APIStatusError, llm, tts
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS, NOT_GIVEN, NotGivenOr

__all__ = ["Rule", "ScriptedLLM", "ScriptedLLMStream", "SilentTTS"]

logger = logging.getLogger("parley.testdata.scripted_llm")

# the key the framework puts in FunctionCall.extra of an injected "still running" pair
_RUNNING_PLACEHOLDER_KEY = "__lk_running_placeholder__"
# the instructions of a deferred tool reply (livekit.agents.voice.tool_executor)
_BACKGROUND_REPLY = re.compile(r"background tool calls \(call_ids: ([^)]*)\)")

# process-wide counters: call ids and response ids stay unique across agents and LLMs,
# and are deterministic for a given conversation
_call_ids = itertools.count(1)
_response_ids = itertools.count(1)

TextSpec = str | Callable[[re.Match, str], str]
ArgsSpec = Mapping[str, Any] | Callable[[re.Match, str], Mapping[str, Any]]
DelaySpec = float | Callable[[re.Match, str], float]
ToolReply = Callable[[dict, str, bool], str]


@dataclass(frozen=True)
class Rule:
    """One keyword rule. Exactly one of ``say``, ``call`` or ``fail`` should be set.

    match: regex searched (case-insensitive) in the user's text.
    say:   the reply text, or ``f(match, text) -> str``.
    call:  name of a tool to call; ``args`` gives its arguments (a mapping or
           ``f(match, text) -> mapping``), sent as JSON.
    fail:  raise ``APIStatusError(fail, status_code=500, retryable=False)``.
    delay: seconds to wait before the first chunk (a number or ``f(match, text)``).
    """

    match: str
    say: TextSpec | None = None
    call: str | None = None
    args: ArgsSpec | None = None
    fail: str | None = None
    delay: DelaySpec = 0.0
    _regex: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.match, re.IGNORECASE | re.DOTALL))

    def search(self, text: str) -> re.Match | None:
        return self._regex.search(text)


@dataclass
class _Plan:
    text: str | None = None
    tool_call: llm.FunctionToolCall | None = None
    fail: str | None = None
    delay: float = 0.0


def _resolve(spec: Any, m: re.Match, text: str) -> Any:
    return spec(m, text) if callable(spec) else spec


def _tool_names(tools: Sequence[Any]) -> set[str]:
    names: set[str] = set()
    for t in tools:
        sub = getattr(t, "tools", None)
        if sub is not None and not hasattr(t, "info"):  # a Toolset
            names |= _tool_names(list(sub))
            continue
        info = getattr(t, "info", None)
        name = getattr(info, "name", None) or getattr(t, "id", None)
        if name:
            names.add(name)
    return names


def _is_placeholder(item: Any) -> bool:
    extra = getattr(item, "extra", None) or {}
    item_id = getattr(item, "id", "") or ""
    return bool(extra.get(_RUNNING_PLACEHOLDER_KEY)) or item_id.endswith("_running_output")


def _relevant_items(chat_ctx: llm.ChatContext) -> list[Any]:
    return [
        it
        for it in chat_ctx.items
        if it.type in ("message", "function_call", "function_call_output")
        and not _is_placeholder(it)
    ]


def _split_chunks(text: str, parts: int = 3) -> list[str]:
    """Split text at word boundaries into at most ``parts`` chunks (deterministic)."""
    words = re.findall(r"\S+\s*", text)
    if len(words) <= 1:
        return [text]
    size = -(-len(words) // parts)  # ceil
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def _word_count(chat_ctx: llm.ChatContext) -> int:
    n = 0
    for it in chat_ctx.items:
        if it.type == "message":
            n += len((it.text_content or "").split())
        elif it.type == "function_call":
            n += len(it.arguments.split()) + 1
        elif it.type == "function_call_output":
            n += len(it.output.split())
    return n


class ScriptedLLM(llm.LLM):
    def __init__(
        self,
        rules: Sequence[Rule] = (),
        *,
        greeting: str = "Hello! How can I help?",
        fallback: TextSpec = "Sorry, I can't help with that.",
        tool_replies: Mapping[str, ToolReply] | None = None,
        unavailable_tool_reply: str = "Sorry, I can't do that right now.",
        delay: float = 0.0,
        model: str = "scripted",
        provider: str = "parley-testdata",
    ) -> None:
        super().__init__()
        self._rules = list(rules)
        self._greeting = greeting
        self._fallback = fallback
        self._tool_replies = dict(tool_replies or {})
        self._unavailable = unavailable_tool_reply
        self._delay = delay
        self._model = model
        self._provider = provider

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._provider

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> ScriptedLLMStream:
        return ScriptedLLMStream(
            self,
            chat_ctx=chat_ctx,
            tools=list(tools or []),
            conn_options=conn_options,
            tool_choice=tool_choice,
        )

    # -- deciding -----------------------------------------------------------------------

    def plan(
        self,
        chat_ctx: llm.ChatContext,
        tools: Sequence[Any],
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
    ) -> _Plan:
        """What to answer to ``chat_ctx`` (pure; exposed for unit tests)."""
        items = _relevant_items(chat_ctx)
        last = items[-1] if items else None

        if last is not None and last.type in ("function_call_output", "function_call"):
            return _Plan(text=self._tool_reply(items))

        if last is not None and last.type == "message" and last.role == "user":
            text = (last.text_content or "").strip()
            return self._user_reply(text, tools, tool_choice)

        tail = chat_ctx.items[-1] if chat_ctx.items else None
        if tail is not None and tail.type == "message" and tail.role in ("system", "developer"):
            if m := _BACKGROUND_REPLY.search(tail.text_content or ""):
                ids = set(re.findall(r"[\w-]+", m.group(1)))
                return _Plan(text=self._tool_reply(items, ids))

        return _Plan(text=self._greeting, delay=self._delay)

    def _tool_reply(self, items: list[Any], call_ids: set[str] | None = None) -> str:
        # the outputs of the trailing group of calls (since the last message), or the
        # outputs with the given call ids
        calls: dict[str, Any] = {}
        outputs: list[Any] = []
        for it in reversed(items):
            if it.type == "message" and call_ids is None:
                break
            if it.type == "function_call":
                calls[it.call_id] = it
            elif it.type == "function_call_output" and (call_ids is None or it.call_id in call_ids):
                outputs.append(it)
        outputs.reverse()

        sentences: list[str] = []
        for out in outputs:
            call = calls.get(out.call_id)
            try:
                args = json.loads(call.arguments) if call and call.arguments else {}
            except ValueError:
                args = {}
            fn = self._tool_replies.get(out.name)
            if fn is not None:
                sentences.append(fn(args, out.output, out.is_error))
            elif out.is_error:
                sentences.append(f"Sorry, that didn't work: {out.output}")
            else:
                sentences.append(f"Done: {out.output}")
        return " ".join(sentences) or "Done."

    def _user_reply(
        self, text: str, tools: Sequence[Any], tool_choice: NotGivenOr[llm.ToolChoice]
    ) -> _Plan:
        for rule in self._rules:
            m = rule.search(text)
            if m is None:
                continue
            delay = float(_resolve(rule.delay, m, text) or 0.0) or self._delay
            if rule.fail is not None:
                return _Plan(fail=rule.fail, delay=delay)
            if rule.call is not None:
                if tool_choice == "none" or rule.call not in _tool_names(tools):
                    return _Plan(text=self._unavailable, delay=delay)
                args = dict(_resolve(rule.args, m, text) or {})
                call = llm.FunctionToolCall(
                    name=rule.call,
                    arguments=json.dumps(args),
                    call_id=f"call_scripted_{next(_call_ids)}",
                )
                return _Plan(tool_call=call, delay=delay)
            return _Plan(text=str(_resolve(rule.say or "", m, text)), delay=delay)

        fb = self._fallback
        return _Plan(text=fb(None, text) if callable(fb) else fb, delay=self._delay)  # type: ignore[arg-type]


class ScriptedLLMStream(llm.LLMStream):
    def __init__(
        self,
        llm_: ScriptedLLM,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool],
        conn_options: APIConnectOptions,
        tool_choice: NotGivenOr[llm.ToolChoice],
    ) -> None:
        super().__init__(llm_, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._scripted = llm_
        self._tool_choice = tool_choice

    async def _run(self) -> None:
        plan = self._scripted.plan(self._chat_ctx, self._tools, self._tool_choice)
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        if plan.fail is not None:
            raise APIStatusError(plan.fail, status_code=500, retryable=False)

        resp_id = f"scripted-{next(_response_ids)}"
        completion = 0
        if plan.tool_call is not None:
            self._event_ch.send_nowait(
                llm.ChatChunk(
                    id=resp_id,
                    delta=llm.ChoiceDelta(role="assistant", tool_calls=[plan.tool_call]),
                )
            )
            completion = 1 + len(plan.tool_call.arguments.split())
        else:
            text = plan.text or ""
            for chunk in _split_chunks(text):
                self._event_ch.send_nowait(
                    llm.ChatChunk(
                        id=resp_id, delta=llm.ChoiceDelta(role="assistant", content=chunk)
                    )
                )
                await asyncio.sleep(0)  # let the pipeline consume, like a real stream
            completion = len(text.split())

        prompt = _word_count(self._chat_ctx)
        self._event_ch.send_nowait(
            llm.ChatChunk(
                id=resp_id,
                usage=llm.CompletionUsage(
                    completion_tokens=completion,
                    prompt_tokens=prompt,
                    total_tokens=completion + prompt,
                ),
            )
        )


class SilentTTS(tts.TTS):
    """Offline non-streaming TTS: ``ms_per_word`` milliseconds of silence per word, sent
    ``latency`` seconds after the request (a network TTS's time to first byte)."""

    def __init__(
        self, *, ms_per_word: int = 10, sample_rate: int = 24000, latency: float = 0.0
    ) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=sample_rate,
            num_channels=1,
        )
        self._ms_per_word = ms_per_word
        self._latency = latency

    @property
    def model(self) -> str:
        return "silent"

    @property
    def provider(self) -> str:
        return "parley-testdata"

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> _SilentStream:
        return _SilentStream(tts=self, input_text=text, conn_options=conn_options)


class _SilentStream(tts.ChunkedStream):
    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        t: SilentTTS = self._tts  # type: ignore[assignment]
        if t._latency > 0:
            await asyncio.sleep(t._latency)
        output_emitter.initialize(
            request_id=f"silent-{next(_response_ids)}",
            sample_rate=t.sample_rate,
            num_channels=1,
            mime_type="audio/pcm",
        )
        words = max(1, len(self._input_text.split()))
        samples = t.sample_rate * t._ms_per_word * words // 1000
        output_emitter.push(b"\0\0" * samples)
        output_emitter.flush()
