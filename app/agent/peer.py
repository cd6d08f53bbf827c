"""Who is on the other end of the agent port: only the agent we spawned may connect.

The agent port is public: it is in the agent's command line (``--connect-addr
127.0.0.1:<port>``), which every local user can read (``/proc/<pid>/cmdline``, ``ps``),
and it listens for the seconds the agent boots. A connection is admitted only when its
peer socket belongs to the agent process or one of its descendants (``uv run`` runs
the agent's Python as a child; a framework may dial from a job process).

The check asks the agent's own processes for their TCP sockets
(``psutil.Process.net_connections``): that works for a user's own processes on Linux
and macOS without privileges, unlike the machine-wide ``psutil.net_connections()``
(root on macOS).
"""

from __future__ import annotations

import asyncio

import psutil


def agent_tree(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and all its descendants (those still running); ``[]`` when
    ``pid`` is gone."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def peer_is_in_tree(pid: int, peer: tuple[str, int], local: tuple[str, int]) -> bool:
    """Whether the TCP connection from ``peer`` to ``local`` (both ``(ip, port)`` as
    seen by the accepting side) is a socket of process ``pid`` or of a descendant.

    A process that vanished or cannot be inspected does not vouch for anyone.
    """
    want_l = (peer[0], peer[1])
    want_r = (local[0], local[1])
    for proc in agent_tree(pid):
        try:
            conns = proc.net_connections(kind="tcp")
        except psutil.Error:
            continue
        for c in conns:
            if not c.raddr:
                continue
            if (c.laddr.ip, c.laddr.port) == want_l and (c.raddr.ip, c.raddr.port) == want_r:
                return True
    return False


async def connection_is_from(pid: int, writer: asyncio.StreamWriter, tries: int = 3) -> bool:
    """Whether the accepted connection ``writer`` comes from process ``pid`` or a
    descendant; asked up to ``tries`` times, 20 ms apart (a child the agent just
    forked may not be listed yet). Runs the socket-table lookup in a thread."""
    peer, local = writer.get_extra_info("peername"), writer.get_extra_info("sockname")
    if not peer or not local:
        return False
    for attempt in range(tries):
        if await asyncio.to_thread(peer_is_in_tree, pid, peer[:2], local[:2]):
            return True
        if attempt < tries - 1:
            await asyncio.sleep(0.02)
    return False
