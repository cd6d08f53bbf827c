"""Many clients on one session: follow, queue and cancel, against the real daemon and
the real echo agent ("slow N ..." makes its reply wait N seconds, holding a turn open).
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import pytest
from conftest import ECHO, Parley, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parley]:
    p = Parley(tmp_path_factory.mktemp("parley-home"))
    p("start", str(ECHO), check=True)
    yield p
    p.stop_quietly()


def status(p: Parley) -> dict:
    return json.loads(p("status", "--json", check=True).stdout)


def idle(p: Parley) -> None:
    wait_until(
        lambda: (
            (s := status(p))["turn_in_progress"] is None
            and not s["turns_queued"]
            and s["agent_state"] == "listening"
        ),
        timeout=15,
    )


def log_items(p: Parley) -> list[dict]:
    return [json.loads(line) for line in p("history", "--json", check=True).stdout.splitlines()]


def turn_items(p: Parley, turn_id: str) -> list[dict]:
    return [i for i in log_items(p) if i["turn_id"] == turn_id]


def say_no_wait(p: Parley, text: str) -> str:
    return p("say", "--no-wait", text, check=True).stdout.strip()


def running(p: Parley, turn_id: str) -> bool:
    return status(p)["turn_in_progress"] == turn_id


def test_cancel_from_another_client_ends_turn_cancelled_without_error(echo: Parley) -> None:
    idle(echo)
    say = echo.popen("say", "--json", "slow 5 first")
    turn_id = wait_until(lambda: status(echo)["turn_in_progress"])
    cancelled = echo("cancel", "--json", check=True)
    assert json.loads(cancelled.stdout) == {"cancelled": [turn_id]}
    out, _ = say.communicate(timeout=10)
    assert say.returncode == 130
    items = [json.loads(line) for line in out.splitlines()]
    assert items[0]["type"] == "user_message" and items[0]["text"] == "slow 5 first"
    assert items[-1]["type"] == "turn_finished" and items[-1]["status"] == "cancelled"
    # the next turn interrupts the agent and runs normally
    nxt = echo("say", "after the cancel", check=True)
    assert "echo: after the cancel" in nxt.stdout
    for item in turn_items(echo, turn_id):
        assert item["type"] != "agent_error"
        assert not (item["type"] == "turn_finished" and item["status"] != "cancelled")
    assert [i["status"] for i in turn_items(echo, turn_id) if i["type"] == "turn_finished"] == [
        "cancelled"
    ]


def test_cancel_right_after_accept_is_not_lost(echo: Parley) -> None:
    idle(echo)
    turn_id = say_no_wait(echo, "slow 3 cancel me at once")
    echo("cancel", check=True)
    items = turn_items(echo, turn_id)
    assert items[0]["type"] == "user_message" and items[0]["text"] == "slow 3 cancel me at once"
    finished = [i for i in items if i["type"] == "turn_finished"]
    assert [f["status"] for f in finished] == ["cancelled"]


def test_idle_cancel_is_a_no_op(echo: Parley) -> None:
    idle(echo)
    assert echo("cancel", check=True).stdout.strip() == "nothing to cancel"
    proc = echo("say", "--json", "still fine")
    assert proc.returncode == 0
    last = json.loads(proc.stdout.splitlines()[-1])
    assert last["type"] == "turn_finished" and last["status"] == "ok"


def test_cancel_drops_the_queued_turn_before_it_reaches_the_agent(echo: Parley) -> None:
    idle(echo)
    first = say_no_wait(echo, "slow 5 running one")
    wait_until(lambda: running(echo, first))
    second = say_no_wait(echo, "queued marker 4711")
    assert status(echo)["turns_queued"] == [second]
    cancelled = json.loads(echo("cancel", "--json", check=True).stdout)["cancelled"]
    assert cancelled == [first, second]
    for turn_id in (first, second):
        finished = [i for i in turn_items(echo, turn_id) if i["type"] == "turn_finished"]
        assert [f["status"] for f in finished] == ["cancelled"]
    echo("say", "afterwards", check=True)
    model_view = echo("history", "--agent", check=True).stdout
    assert "afterwards" in model_view
    assert "queued marker 4711" not in model_view


def test_turn_survives_its_client_and_another_follower_sees_it_finish(echo: Parley) -> None:
    idle(echo)
    since = log_items(echo)[-1]["seq"]
    follower = echo.popen("events", "--follow", "--json", "--since", str(since))
    say = echo.popen("say", "--json", "slow 2 orphaned turn")
    # the running turn's id, from the status that saw it (a second look may come too late)
    turn_id = wait_until(lambda: status(echo)["turn_in_progress"])
    say.kill()  # the submitting client goes away
    say.wait()
    assert follower.stdout is not None
    seen = []
    for line in follower.stdout:
        item = json.loads(line)
        seen.append(item)
        if item["type"] == "turn_finished" and item["turn_id"] == turn_id:
            break
    follower.send_signal(signal.SIGINT)
    follower.wait(timeout=10)
    assert seen[-1]["status"] == "ok"
    assert any(
        i["type"] == "agent_message" and i["text"] == "echo: slow 2 orphaned turn" for i in seen
    )


def test_two_followers_see_the_same_items_in_the_same_order(echo: Parley) -> None:
    idle(echo)
    since = log_items(echo)[-1]["seq"]
    followers = [
        echo.popen("events", "--follow", "--json", "--since", str(since)) for _ in range(2)
    ]
    echo("say", "one", check=True)
    say_no_wait(echo, "slow 1 two")
    echo("say", "three", check=True)
    streams: list[list[str]] = []
    for f in followers:
        assert f.stdout is not None
        lines = []
        for line in f.stdout:
            lines.append(line)
            if '"turn_finished"' in line and json.loads(line)["turn_id"] == last_turn(echo):
                break
        f.send_signal(signal.SIGINT)
        f.wait(timeout=10)
        streams.append(lines)
    assert streams[0] == streams[1]
    texts = [json.loads(x).get("text") for x in streams[0]]
    assert texts.index("one") < texts.index("slow 1 two") < texts.index("three")


def last_turn(p: Parley) -> str:
    return [i for i in log_items(p) if i["type"] == "user_message"][-1]["turn_id"]


def test_events_since_loses_nothing_and_repeats_nothing(echo: Parley) -> None:
    idle(echo)
    everything = echo("events", "--json", check=True).stdout.splitlines()
    seqs = [json.loads(x)["seq"] for x in everything]
    assert seqs == list(range(1, len(seqs) + 1))
    middle = seqs[len(seqs) // 2]
    rest = echo("events", "--json", "--since", str(middle), check=True).stdout.splitlines()
    assert rest == everything[middle:]


def test_ctrl_c_on_say_cancels_that_turn_only(echo: Parley) -> None:
    idle(echo)
    say = echo.popen("say", "slow 5 interrupt me")
    turn_id = wait_until(lambda: status(echo)["turn_in_progress"])
    queued = say_no_wait(echo, "keep me")
    say.send_signal(signal.SIGINT)
    say.wait(timeout=10)
    assert say.returncode == 130
    cancelled = [i["status"] for i in turn_items(echo, turn_id) if i["type"] == "turn_finished"]
    wait_until(
        lambda: [i["status"] for i in turn_items(echo, queued) if i["type"] == "turn_finished"]
    )
    assert cancelled == ["cancelled"]
    assert [i["status"] for i in turn_items(echo, queued) if i["type"] == "turn_finished"] == ["ok"]
