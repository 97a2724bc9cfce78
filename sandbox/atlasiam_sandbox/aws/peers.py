"""Which emulated host or Lambda function a loopback TCP connection comes from, so an address can refuse the others.

Every emulated host runs its commands as processes of this machine, and every connection comes from 127.0.0.1,
so an address cannot tell a host's connection from anybody else's. The process can: a command the emulated SSM
Agent runs has ``AWS_SSM_INSTANCE_ID`` in its environment (:meth:`HostExecutor.host_env`), as on EC2, and its
children inherit it. A Lambda function's handler process has ``AWS_LAMBDA_FUNCTION_NAME``, as in Lambda's runtime
("Defined runtime environment variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
Linux shows who holds a socket: ``/proc/net/tcp`` maps the connection to a socket inode,
``/proc/<pid>/fd`` maps the inode to a process, ``/proc/<pid>/environ`` gives its environment.

Where ``/proc`` does not show it (another system, a process of another user), the host is unknown and a caller
that needs a host refuses the connection: never kinder than the VPC.
"""

from __future__ import annotations

import socket
from pathlib import Path

INSTANCE_VAR = "AWS_SSM_INSTANCE_ID"
FUNCTION_VAR = "AWS_LAMBDA_FUNCTION_NAME"
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


def process_environment(pid: int, proc: Path = PROC) -> dict[str, str] | None:
    """A process's (initial) environment, or None when ``/proc`` does not show it."""
    try:
        environ = (proc / str(pid) / "environ").read_bytes()
    except OSError:
        return None
    env: dict[str, str] = {}
    for item in environ.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


def process_instance(pid: int, proc: Path = PROC) -> str | None:
    """The ``AWS_SSM_INSTANCE_ID`` in a process's (initial) environment."""
    env = process_environment(pid, proc)
    return (env or {}).get(INSTANCE_VAR) or None


def connection_environment(conn: socket.socket, proc: Path = PROC) -> dict[str, str] | None:
    """The environment of the process behind a connection accepted on a loopback IPv4 listener, else None."""
    try:
        client, server = conn.getpeername(), conn.getsockname()
    except OSError:
        return None
    if conn.family != socket.AF_INET:
        return None
    inode = socket_inode((client[0], client[1]), (server[0], server[1]), proc)
    pid = socket_owner(inode, proc) if inode else None
    return process_environment(pid, proc) if pid else None


def connection_instance(conn: socket.socket, proc: Path = PROC) -> str | None:
    """The emulated host (instance id) a connection accepted on a loopback IPv4 listener comes from, else None."""
    return (connection_environment(conn, proc) or {}).get(INSTANCE_VAR) or None
