"""The agent log as people read it (parley.app.agent.agentlog): LiveKit's console format, escapes,
long lines, records and failures."""

from __future__ import annotations

from pathlib import Path

from parley.app.agent.agentlog import (
    JobFailureWatch,
    LineSplitter,
    clean_line,
    clean_text,
    failure_lines,
    read_tail,
    records,
    split_lines,
    tail,
)

# what livekit-agents 1.8.9's console formatter writes (cli/log.py, ColoredFormatter)
CONSOLE = (
    "\r00:45:02 \x1b[36mDEBUG\x1b[0m livekit.agents executing tool "
    '\x1b[90m{"function": "check_stock"}\x1b[0m\n'
    "\r00:45:02 \x1b[31mERROR\x1b[0m livekit.agents exception occurred while executing tool "
    '\x1b[90m{"function": "check_stock"}\x1b[0m\n'
    "Traceback (most recent call last):\n"
    '  File "agent.py", line 40, in check_stock\n'
    "    return _query(item)\n"
    "RuntimeError: inventory database unreachable\n"
    "\r00:45:02 \x1b[32mINFO\x1b[0m inventory done \x1b[90m\x1b[0m\n"
)


def test_split_lines_handles_lf_cr_crlf_and_lone_cr() -> None:
    assert split_lines("a\n\rb\r\nc\rd\n\ne\n") == ["a", "b", "c", "d", "", "e"]
    assert split_lines("\r00:00:01 x\n\r00:00:02 y\n") == ["00:00:01 x", "00:00:02 y"]
    assert split_lines("") == [] and split_lines("\r\nx") == ["", "x"]


def test_line_splitter_gives_the_same_lines_whatever_the_chunks() -> None:
    data = CONSOLE.encode() + "é\n\rlast".encode()
    whole = split_lines(data.decode())
    for size in (1, 2, 3, 7, 64):
        s = LineSplitter()
        got: list[str] = []
        for i in range(0, len(data), size):
            got += s.feed_bytes(data[i : i + size])
        assert got + [s.partial] == whole, size


def test_clean_line_strips_or_keeps_colour_and_escapes_controls() -> None:
    raw = "00:45:02 \x1b[31mERROR\x1b[0m x \x1b[2J\x1b]0;title\x07bell\x07 \x9b1mc1\tt"
    plain = clean_line(raw)
    assert plain == "00:45:02 ERROR x bell\\x07 c1    t"
    coloured = clean_line(raw, color=True)
    assert coloured == "00:45:02 \x1b[31mERROR\x1b[0m x bell\\x07 c1    t\x1b[0m"
    assert "\x1b[2J" not in coloured and "\x07" not in coloured
    assert clean_line("a\x1b") == "a" and clean_line("\x00\x7f") == "\\x00\\x7f"


def test_clean_line_cuts_long_lines_counting_visible_characters() -> None:
    line = "\x1b[31m" + "x" * 30 + "\x1b[0m" + "y" * 30
    assert clean_line(line, width=40) == "x" * 30 + "y" * 10 + "… (+20 chars)"
    cut = clean_line(line, width=20, color=True)
    assert cut == "\x1b[31m" + "x" * 20 + "… (+40 chars)\x1b[0m"
    assert clean_line(line, width=None) == "x" * 30 + "y" * 30
    assert clean_line("z" * 40, width=40) == "z" * 40


def test_clean_text_one_output_line_per_log_line() -> None:
    assert clean_text("a\n\rb\x1b[1m!\x1b[0m") == "a\nb!"


def test_tail_reads_the_last_lines_cleaned(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_bytes(CONSOLE.encode())
    assert tail(log, 2, color=False) == (
        "RuntimeError: inventory database unreachable\n00:45:02 INFO inventory done "
    )
    assert "\x1b[32mINFO" in tail(log, 1)
    assert tail(tmp_path / "missing.log") == ""


def test_read_tail_drops_the_cut_first_line(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_text("first line\nsecond\nthird\n")
    assert read_tail(log, max_bytes=10) == ["third"]
    assert read_tail(log, end=11) == ["first line"]


def test_records_and_failure_lines() -> None:
    lines = split_lines(CONSOLE)
    recs = records(lines)
    assert [r.level for r in recs] == ["DEBUG", "ERROR", "INFO"]
    assert recs[1].exception == "RuntimeError: inventory database unreachable"
    picked = [clean_line(x) for x in failure_lines(lines)]
    assert picked == [
        "00:45:02 ERROR livekit.agents exception occurred while executing tool "
        '{"function": "check_stock"}',
        "Traceback (most recent call last):",
        '  File "agent.py", line 40, in check_stock',
        "    return _query(item)",
        "RuntimeError: inventory database unreachable",
    ]
    long = ["00:00:01 ERROR x boom", "Traceback (most recent call last):"]
    long += [f"  frame {i}" for i in range(50)] + ["ValueError: v"]
    cut = failure_lines(long, max_lines=10)
    assert len(cut) == 10 and cut[0] == long[0] and cut[-1] == "ValueError: v"
    assert "lines left out" in cut[1]
    assert failure_lines(["00:00:01 INFO fine", "00:00:02 WARNING meh"]) == []


def test_a_bare_traceback_is_a_failure() -> None:
    lines = ["hello", "Traceback (most recent call last):", '  File "x"', "KeyError: 'k'"]
    assert failure_lines(lines) == lines[1:]


def test_job_failure_watch_waits_for_the_job_to_exit(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_bytes(b"\r00:00:00 \x1b[32mINFO\x1b[0m livekit.agents old session\n")
    watch = JobFailureWatch(log, settle=1.0)
    assert watch.poll(0.0) is None
    with open(log, "ab") as f:
        f.write(
            b"\r00:43:03 \x1b[31mERROR\x1b[0m livekit.agents unhandled exception while "
            b"running the job task \x1b[90m\x1b[0m\nTraceback (most recent call last):\n"
            b'  File "agent.py", line 14, in entrypoint\n'
            b"boom.AvatarError: unreachable\n"
        )
    assert watch.poll(0.1) is None  # not settled: the job has not logged its exit yet
    with open(log, "ab") as f:
        f.write(b'\r00:43:03 \x1b[36mDEBUG\x1b[0m livekit.agents job exiting {"reason": "x"}\n')
    failure = watch.poll(0.2)
    assert failure is not None
    assert failure.message == (
        "the agent's job failed before its session started: boom.AvatarError: unreachable"
    )
    assert clean_text(failure.detail).splitlines() == [
        "00:43:03 ERROR livekit.agents unhandled exception while running the job task ",
        "Traceback (most recent call last):",
        '  File "agent.py", line 14, in entrypoint',
        "boom.AvatarError: unreachable",
    ]


def test_job_failure_watch_reports_after_settling_without_exit(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    watch = JobFailureWatch(log, settle=1.0)  # the log does not exist yet
    assert watch.poll(0.0) is None
    log.write_bytes(b"00:00:01 ERROR livekit.agents error initializing process\n")
    assert watch.poll(0.5) is None
    failure = watch.poll(1.6)
    assert failure is not None
    assert failure.message.endswith(": livekit.agents error initializing process")


def test_job_failure_watch_ignores_ordinary_errors(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    log.write_bytes(b"00:00:01 ERROR some.plugin could not warm up\n")
    watch = JobFailureWatch(log)
    log.write_bytes(log.read_bytes() + b"00:00:02 ERROR some.plugin still cold\n")
    assert watch.poll(100.0) is None


def test_job_failure_watch_reads_from_the_offset_given(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    old = b"00:00:01 ERROR livekit.agents unhandled exception while running the job task\n"
    log.write_bytes(old)  # a previous boot's failure, before this boot's offset
    assert JobFailureWatch(log, offset=len(old)).poll(100.0) is None
    log.write_bytes(old + b"00:00:02 DEBUG livekit.agents job exiting\n")
    failure = JobFailureWatch(log, offset=0).poll(0.0)  # written before the watch began
    assert failure is not None and "job failed" in failure.message
