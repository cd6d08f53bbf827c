"""The one except-block of the commands that read a daemon stream (events, listen)."""

from __future__ import annotations

import pytest

from parley.app.cli import exitcodes
from parley.app.cli.streams import daemon_stream
from parley.app.daemon.client import ControlError


def _exit_code(exc: BaseException) -> int:
    with pytest.raises(SystemExit) as e, daemon_stream():
        raise exc
    return int(e.value.code or 0)


def test_ctrl_c_exits_130() -> None:
    assert _exit_code(KeyboardInterrupt()) == exitcodes.INTERRUPTED


def test_a_daemon_not_reached_exits_1_saying_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(ConnectionRefusedError("refused")) == exitcodes.FAILURE
    assert "could not reach the daemon: refused" in capsys.readouterr().err


def test_a_connection_lost_after_the_daemon_answered_is_the_commands_to_report() -> None:
    with daemon_stream() as stream:
        stream.connected = True
        raise ConnectionResetError("reset")
    # no exit: the command goes on and says what the loss means


def test_the_daemons_own_errors_go_on_to_the_command_group() -> None:
    with pytest.raises(ControlError), daemon_stream():
        raise ControlError("bad token", kind="auth")
