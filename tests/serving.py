"""A generated service served for real (its own `serve` command, in its own process group), and a
TCP proxy that breaks the connections to the parts it needs. For the fuzzing and fault tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from types import TracebackType

import httpx

from .conftest import project_env

# Stand-ins that run in the generated project's own environment (its dev dependencies), each
# printing one JSON line of what the service needs to reach it, then serving until its stdin
# closes.
# - its identity provider (tests/auth_helpers.py): real RSA keys, a JWKS over HTTP, and a token
#   that outlives the run, for `sub` with `roles`;
IDENTITY_PROVIDER = """
import json, sys, time
from tests.auth_helpers import AUDIENCE, ISSUER, IdentityProvider
provider = IdentityProvider()
sub, roles = sys.argv[1], sys.argv[2].split(",")
token = provider.token(sub=sub, roles=roles, exp=int(time.time()) + 3600)
print(json.dumps({"OIDC_ISSUER": ISSUER, "OIDC_AUDIENCE": AUDIENCE,
                  "OIDC_JWKS_URL": provider.jwks_url, "token": token}), flush=True)
sys.stdin.read()
"""
# - an S3-compatible server (moto's, as its backup tests use) with one bucket.
S3_SERVER = """
import json, sys
import boto3
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
endpoint = f"http://{host}:{port}"
boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="backups")
print(json.dumps({"BACKUP_S3_ENDPOINT_URL": endpoint, "BACKUP_S3_BUCKET": "backups"}), flush=True)
sys.stdin.read()
server.stop()
"""
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextmanager
def stand_in(project: Path, script: str, *args: str) -> Iterator[dict[str, str]]:
    """Run one of the stand-ins above in `project`; what it printed."""
    helper = subprocess.Popen(
        [str(project / ".venv" / "bin" / "python"), "-c", script, *args],
        cwd=project, env=project_env() | S3_CREDENTIALS,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert helper.stdin is not None
    assert helper.stdout is not None
    try:
        line = helper.stdout.readline()
        assert line, f"the stand-in exited with status {helper.wait()}"
        yield json.loads(line)
    finally:
        helper.stdin.close()
        helper.wait(timeout=30)


def identity_provider(
    project: Path, sub: str, roles: str
) -> AbstractContextManager[dict[str, str]]:
    """The stand-in provider's settings for the service, and the `token` it signed for `sub`
    with `roles` (comma-separated)."""
    return stand_in(project, IDENTITY_PROVIDER, sub, roles)


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


class Served:
    """`<cli> serve` on a free port with `env`, its output in `log`. A context manager: started
    on entry (answering /healthz), stopped on exit. `kill()` stops it as a crash would."""

    def __init__(self, cli: list[str], project: Path, env: dict[str, str], log: Path) -> None:
        self.cli = cli
        self.project = project
        self.env = env
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*self.cli, "serve", "--port", str(self.port)],
                cwd=self.project, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{self.base}/healthz", timeout=5)
                return
            except httpx.TransportError:
                assert self.process.poll() is None, self.log.read_text()
                assert time.monotonic() < deadline, f"serve did not start in {timeout:g} s"
                time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback, nothing flushed; as the OOM killer does it."""
        self.stop(signal.SIGKILL)

    def __enter__(self) -> Served:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class FaultProxy:
    """A TCP proxy on 127.0.0.1 in front of one real server (PostgreSQL, Redis, an identity
    provider, S3), that breaks the way those break:

    - `refuse()`: every open connection is cut and new ones are refused (the server died);
    - `blackhole()`: every open connection is cut, and new ones are accepted and never answered
      (a partition, or a server that hangs): only the client's own timeouts end the wait;
    - `restore()`: connections pass again, to the same port.

    Threads rather than asyncio: it runs beside tests that block, and a few dozen connections
    are all a fault test opens.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.mode = "pass"
        self.connections = 0  # passed through, since the start
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _listen(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR on POSIX
        listener.settimeout(0.1)  # so that accept() notices when it is closed
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            self._track(client)
            if self.mode == "pass":
                threading.Thread(target=self._connect, args=(client,), daemon=True).start()
            # blackholed: held open, never read from and never answered

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            self._close(client)
            return
        upstream.settimeout(None)
        self._track(upstream)
        self.connections += 1
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        self._close(source)
        self._close(sink)

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)

    def _close(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)
        with suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in recv()
        connection.close()

    def cut(self) -> None:
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            self._close(connection)

    def refuse(self) -> None:
        self.mode = "refuse"
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self.cut()

    def blackhole(self) -> None:
        self.mode = "blackhole"
        if self._listener is None:
            self._listen()
        self.cut()

    def restore(self) -> None:
        if self.mode == "pass":
            return
        self.cut()  # the blackholed connections: their clients gave up on them long ago
        self.mode = "pass"
        if self._listener is None:
            self._listen()

    def close(self) -> None:
        self.refuse()
