"""The agent port admits only the spawned agent's processes (issue: agent-port
takeover). Real processes dial a real engine listener: a racer that is not the agent's
and an "agent" (a fake peer speaking the framing, in a subprocess or a grandchild)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest

from parley.app.agent.engine import SessionEngine

# a minimal agent: dial, answer every request with an empty response, stay connected
FAKE_AGENT = textwrap.dedent(
    """
    import socket, struct, sys, time
    from livekit.protocol.agent_pb import agent_session as pb
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    f = s.makefile("rb")
    while True:
        head = f.read(4)
        if len(head) < 4:
            break
        msg = pb.AgentSessionMessage()
        msg.ParseFromString(f.read(struct.unpack(">I", head)[0]))
        if msg.HasField("request"):
            out = pb.AgentSessionMessage(
                response=pb.SessionResponse(request_id=msg.request.request_id)
            ).SerializeToString()
            s.sendall(struct.pack(">I", len(out)) + out)
    """
)

# dials the port and reports what it got: "refused" when closed without a byte
RACER = textwrap.dedent(
    """
    import socket, sys
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    print("connected", flush=True)
    s.settimeout(30)
    data = s.recv(65536)
    print("refused" if not data else "got %d bytes" % len(data), flush=True)
    """
)

# the agent's job in a child process: the grandchild dials
PARENT_OF_AGENT = textwrap.dedent(
    """
    import subprocess, sys
    sys.exit(subprocess.call([sys.executable, "-c", sys.argv[1], sys.argv[2]]))
    """
)


async def _connect_with_racer(agent_cmd: list[str]) -> None:
    engine = SessionEngine(lambda item: None)
    port = await engine.listen()
    racer = subprocess.Popen(
        [sys.executable, "-c", RACER, str(port)], stdout=subprocess.PIPE, text=True
    )
    agent = None
    try:
        assert racer.stdout is not None
        assert (await asyncio.to_thread(racer.stdout.readline)).strip() == "connected"
        agent = subprocess.Popen([*agent_cmd, str(port)])
        await engine.connect(agent, "/nonexistent", timeout=30)  # update_io answered
        verdict = await asyncio.to_thread(racer.stdout.readline)
        assert verdict.strip() == "refused"  # closed at once, sent nothing
        assert len(engine.refused) == 1
        # the listener is closed once the agent is in
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)
        # and the session works with the real agent
        assert (await engine.agent_info())["id"] == ""
    finally:
        await engine.close()
        racer.kill()
        if agent is not None:
            agent.kill()
            agent.wait()
        racer.wait()


async def test_a_stranger_racing_the_agent_to_the_port_is_refused() -> None:
    await _connect_with_racer([sys.executable, "-c", FAKE_AGENT])


async def test_a_descendant_of_the_agent_is_admitted() -> None:
    await _connect_with_racer([sys.executable, "-c", PARENT_OF_AGENT, FAKE_AGENT])
