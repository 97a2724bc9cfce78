"""Which emulated host a loopback TCP connection comes from, so a private address can refuse everyone else.

Every emulated host runs its commands as processes of this machine, and every connection comes from 127.0.0.1,
so an address cannot tell a host's connection from anybody else's. The process can: a command the emulated SSM
Agent runs has ``AWS_SSM_INSTANCE_ID`` in its environment (:meth:`HostExecutor.host_env`), as on EC2, and its
children inherit it. Linux shows who holds a socket: ``/proc/net/tcp`` maps the connection to a socket inode,
``/proc/<pid>/fd`` maps the inode to a process, ``/proc/<pid>/environ`` gives its environment.

Where ``/proc`` does not show it (another system, a process of another user), the host is unknown and a caller
that needs a host refuses the connection: never kinder than the VPC.
"""

from __future__ import annotations

import socket
from pathlib import Path

INSTANCE_VAR = b"AWS_SSM_INSTANCE_ID="
PROC = Path("/proc")


def _hex_endpoint(address: tuple[str, int]) -> str:
    """``("127.0.0.1", 5000)`` -> ``0100007F:1388``, as ``/proc/net/tcp`` writes an IPv4 endpoint."""
    packed = socket.inet_aton(address[0])
    return f"{int.from_bytes(packed, 'little'):08X}:{address[1]:04X}"


def socket_inode(client: tuple[str, int], server: tuple[str, int], proc: Path = PROC) -> int | None:
    """The inode of the client's end of a loopback IPv4 connection (its local address is ``client``)."""
    local, remote = _hex_endpoint(client), _hex_endpoint(server)
    try:
        lines = (proc / "net" / "tcp").read_text(encoding="ascii").splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 9 and fields[1] == local and fields[2] == remote:
            return int(fields[9]) or None
    return None


def socket_owner(inode: int, proc: Path = PROC) -> int | None:
    """The pid of a process holding socket ``inode`` open."""
    target = f"socket:[{inode}]"
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if str(fd.readlink()) == target:
                    return int(entry.name)
        except OSError:  # gone, or not ours to look at
            continue
    return None


def process_instance(pid: int, proc: Path = PROC) -> str | None:
    """The ``AWS_SSM_INSTANCE_ID`` in a process's (initial) environment."""
    try:
        environ = (proc / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    for item in environ.split(b"\0"):
        if item.startswith(INSTANCE_VAR):
            return item[len(INSTANCE_VAR) :].decode("ascii", "replace") or None
    return None


def connection_instance(conn: socket.socket, proc: Path = PROC) -> str | None:
    """The emulated host (instance id) a connection accepted on a loopback IPv4 listener comes from, else None."""
    try:
        client, server = conn.getpeername(), conn.getsockname()
    except OSError:
        return None
    if conn.family != socket.AF_INET:
        return None
    inode = socket_inode((client[0], client[1]), (server[0], server[1]), proc)
    pid = socket_owner(inode, proc) if inode else None
    return process_instance(pid, proc) if pid else None
