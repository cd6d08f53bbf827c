"""The headless text renderer: LiveKit's daemon format."""

from __future__ import annotations

import io

import pytest

from parley.app.protocol import items as it
from parley.headless.render import TextRenderer, first_line, use_color

R = TextRenderer(color=False)


def done(output: str, *, is_error: bool = False) -> it.ToolCall:
    return it.ToolCall(
        call_id="c", name="lookup_weather", status="done", output=output, is_error=is_error
    )


def test_messages_and_tool_call_blocks() -> None:
    text = "".join(
        R.render(i)
        for i in [
            it.UserMessage(text="what's the weather in San Francisco?"),
            it.ToolCall(call_id="c", name="lookup_weather"),  # running: nothing yet
            done("sunny with a temperature of 70 degrees."),
            it.AgentMessage(text="The weather is sunny.", agent_id="a"),
            it.AgentState(old_state="speaking", new_state="listening"),
            it.Usage(),
            it.TurnFinished(status="ok"),
        ]
    )
    assert text == (
        "\n  ● You\n    what's the weather in San Francisco?\n"
        "\n  ● function_tool: lookup_weather\n    ✓ sunny with a temperature of 70 degrees.\n"
        "\n  ● Agent\n    The weather is sunny.\n"
    )


def test_failed_empty_cancelled_tool() -> None:
    assert R.render(done("boom", is_error=True)).endswith("    ✗ boom\n")
    failed = it.ToolCall(call_id="c", name="f", status="error", is_error=True, output="")
    assert R.render(failed).endswith("    ✗ error\n")
    assert R.render(done("")) == "\n  ● function_tool: lookup_weather\n"
    cancelled = it.ToolCall(call_id="c", name="f", status="cancelled")
    assert R.render(cancelled).endswith("    ✗ cancelled\n")


def test_long_output_is_first_line_capped_at_120() -> None:
    line = R.render(done("a" * 300)).splitlines()[-1]
    assert line == "    ✓ " + "a" * 119 + "…"
    assert len(first_line("a" * 300)) == 120
    assert first_line("one\ntwo") == "one …"
    assert first_line("short") == "short"


def test_handoffs_and_errors() -> None:
    assert R.render(it.Handoff(from_agent=None, to_agent="concierge")) == "\n  ● agent: concierge\n"
    assert R.render(it.Handoff(from_agent="a", to_agent="b")) == "\n  ● handoff: a → b\n"
    assert R.render(it.AgentError(message="bad\nthing")) == "\n  ✗ bad\n    thing\n"
    assert R.render(it.TurnFinished(status="error", error="llm down")) == "\n  ✗ llm down\n"
    assert R.render(it.TurnFinished(status="cancelled")) == "\n  ✗ turn cancelled\n"


def test_multiline_text_keeps_indent_and_markup_is_literal() -> None:
    out = R.render(it.AgentMessage(text="line [bold]one[/]\n\n  indented"))
    assert out == "\n  ● Agent\n    line [bold]one[/]\n\n      indented\n"


def test_color_only_when_asked() -> None:
    colored = TextRenderer(color=True).render(it.UserMessage(text="x"))
    assert "\x1b[" in colored and "x" in colored
    assert "\x1b[" not in R.render(it.UserMessage(text="x"))


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_use_color_needs_tty_and_no_NO_COLOR(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(FakeTTY()) is True
    assert use_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "")
    assert use_color(FakeTTY()) is False


def test_background_agent_errors_are_recorded_not_rendered() -> None:
    from parley.app.agent.convert import is_background_error
    from parley.headless.export import transcript

    stt = (
        "type='stt_error' timestamp=1.0 label='inference.STT' "
        "error=APIConnectionError('x', retryable=True) recoverable=True"
    )
    assert is_background_error(stt)
    assert not is_background_error(stt.replace("recoverable=True", "recoverable=False"))
    assert not is_background_error("type='llm_error' recoverable=True")
    quiet = it.AgentError(message=stt, background=True)
    loud = it.AgentError(message="the agent exited with code 1")
    assert TextRenderer().render(quiet) == ""
    assert "exited with code 1" in TextRenderer().render(loud)
    assert list(transcript([quiet, loud])) == [loud]
    assert quiet.to_dict()["background"] is True
    assert "background" not in loud.to_dict()  # the field is absent when unset
