"""Faults mid-load: a generated service (PostgreSQL, Redis, oidc) served for real, under load,
while a TCP proxy in front of each part it needs cuts, refuses or blackholes its connections, or
while the service itself is killed.

Each test counts, over every request it made: answers that were a 500 or another 5xx than the
documented 503/504 (must be 0), requests with no answer or one that came later than the
configured timeouts allow (0), error answers that were not problem+json (0), recovery with no
restart, and creates lost or written twice (0, checked by retrying every create with its
Idempotency-Key and listing what was stored). The counts are shown under "figures".
"""

from __future__ import annotations

import itertools
import json
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import project_env, render, run
from .serving import S3_CREDENTIALS, S3_SERVER, FaultProxy, Served, identity_provider, stand_in

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("faults")]

ANSWERS = {
    "project_name": "My Service",
    "auth": "oidc",
    "database": "postgresql",
    "rate_limit_store": "redis",
}
POSTGRES = ("127.0.0.1", 5432)
REDIS = ("127.0.0.1", 6379)
# Short timeouts, so that a hang shows in seconds; every bound below derives from them.
TIMEOUTS = {
    "DATABASE_POOL_TIMEOUT_SECONDS": "4",
    "DATABASE_CONNECT_TIMEOUT_SECONDS": "2",
    "HTTP_TIMEOUT_SECONDS": "2",
    "REDIS_TIMEOUT_SECONDS": "0.5",
    "READINESS_TIMEOUT_SECONDS": "2",
}
# The longest a request may take while a part is failing: the pool's wait for a connection,
# then a connection's attempt, plus room for a slow shared machine.
WITHIN = 4 + 2 + 4
NOTES = "/api/v1/notes"


@pytest.fixture(scope="module")
def project(copie_session: Any) -> Path:
    project = render(copie_session, **ANSWERS)
    run(["uv", "sync", "--quiet"], cwd=project)
    return project


@dataclass
class Stack:
    """The service's settings, with PostgreSQL, Redis and the identity provider each behind a
    FaultProxy; a token for a plain user."""

    project: Path
    env: dict[str, str]
    token: str
    postgres: FaultProxy
    redis: FaultProxy
    idp: FaultProxy
    logs: Path

    @property
    def cli(self) -> list[str]:
        return [str(self.project / ".venv" / "bin" / "my_service")]

    def served(self) -> Served:
        return Served(self.cli, self.project, self.env, self.logs / "serve.log")

    def log_events(self) -> Counter[str]:
        events: Counter[str] = Counter()
        for line in (self.logs / "serve.log").read_text(errors="replace").splitlines():
            if line.startswith("{"):
                events[json.loads(line).get("event", "")] += 1
        return events


def psql(project: Path, statement: str) -> None:
    """One statement as postgres, through the generated project's psycopg."""
    code = (
        "import sys, psycopg\n"
        "with psycopg.connect('postgresql://postgres@127.0.0.1:5432/postgres', autocommit=True)"
        " as connection:\n"
        "    connection.execute(sys.argv[1])\n"
    )
    run([str(project / ".venv" / "bin" / "python"), "-c", code, statement], cwd=project)


@pytest.fixture
def stack(project: Path, tmp_path: Path) -> Iterator[Stack]:
    database = f"faults_{uuid.uuid4().hex[:12]}"
    psql(project, f"CREATE DATABASE {database}")
    with ExitStack() as cleanup:
        cleanup.callback(psql, project, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        proxies = [FaultProxy(POSTGRES), FaultProxy(REDIS)]
        provider = cleanup.enter_context(identity_provider(project, "loader", "user"))
        jwks = httpx.URL(provider["OIDC_JWKS_URL"])
        proxies.append(FaultProxy((jwks.host, jwks.port or 80)))
        for proxy in proxies:
            cleanup.callback(proxy.close)
        postgres, redis, idp = proxies
        env = (
            project_env()
            | TIMEOUTS
            | {
                "DATABASE_URL": f"postgresql+psycopg://postgres@{postgres.address}/{database}",
                "REDIS_URL": f"redis://{redis.address}/0",
                "RATE_LIMIT_KEY_PREFIX": f"{database}:",
                "RATE_LIMIT_DEFAULT": "100000/minute",
                "RATE_LIMIT_WRITES": "100000/minute",
                "OIDC_ISSUER": provider["OIDC_ISSUER"],
                "OIDC_AUDIENCE": provider["OIDC_AUDIENCE"],
                "OIDC_JWKS_URL": f"http://{idp.address}/jwks",
                "LOG_FORMAT": "json",
                "BACKUP_DIR": str(tmp_path / "backups"),
            }
        )
        made = Stack(project, env, provider["token"], postgres, redis, idp, tmp_path)
        subprocess.run(
            [*made.cli, "migrate"], cwd=project, env=env, check=True, capture_output=True
        )
        yield made


@dataclass(frozen=True)
class Answer:
    phase: str  # when it was sent
    phase_done: str  # when its answer came (or did not)
    method: str
    status: int  # 0: no answer at all (the connection failed, or the client gave up)
    seconds: float
    content_type: str
    key: str = ""  # a create's Idempotency-Key
    note_id: int | None = None


@dataclass
class Load:
    """Clients listing and creating notes in a loop until stopped; every answer is recorded with
    the phases it began and ended in, and every create's Idempotency-Key and body are kept for
    retries."""

    base: str
    headers: dict[str, str]
    clients: int = 4
    creates_only: bool = False
    phase: str = "before"
    answers: list[Answer] = field(default_factory=list)
    bodies: dict[str, dict[str, str]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        for number in range(self.clients):
            thread = threading.Thread(target=self._client, args=(number,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    def _client(self, number: int) -> None:
        # The client's own timeout is far past every bound: a hang shows as a slow answer.
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=60) as client:
            sent = 0
            while not self._stop.is_set():
                sent += 1
                phase, started = self.phase, time.monotonic()
                key, body = "", {}
                try:
                    if self.creates_only or sent % 2:
                        key = f"{number}-{sent}-{uuid.uuid4().hex[:8]}"
                        body = {"title": f"load {key}"}
                        self.bodies[key] = body
                        response = client.post(NOTES, json=body, headers={"Idempotency-Key": key})
                    else:
                        response = client.get(NOTES, params={"limit": 5})
                except httpx.TransportError:
                    status, content_type, note_id = 0, "", None
                else:
                    status = response.status_code
                    content_type = response.headers.get("content-type", "")
                    note_id = response.json()["id"] if status == 201 else None
                seconds = time.monotonic() - started
                method = "POST" if key else "GET"
                answer = Answer(
                    phase, self.phase, method, status, seconds, content_type, key, note_id
                )
                self.answers.append(answer)
                if status == 0:
                    time.sleep(0.05)  # the service is gone: do not spin


def problems(answers: list[Answer], within: float = WITHIN) -> list[str]:
    """What no fault may cause: a 500 or an undocumented 5xx, no answer, a hang, a non-problem
    error."""
    found = []
    for answer in answers:
        if answer.status == 0:
            found.append(f"no answer: {answer}")
        elif answer.status >= 500 and answer.status not in (503, 504):
            found.append(f"server error: {answer}")
        elif answer.status >= 400 and answer.content_type != "application/problem+json":
            found.append(f"not problem+json: {answer}")
        if answer.seconds > within:
            found.append(f"answered after {answer.seconds:.1f} s (bound {within} s): {answer}")
    return found


def statuses(answers: list[Answer], phase: str) -> list[int]:
    """The statuses of the requests sent and answered within `phase` (not across its edges)."""
    return [a.status for a in answers if a.phase == a.phase_done == phase]


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Seconds until `check()` held; fails after `timeout`."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.2)
    return time.monotonic() - started


def ready(base: str) -> bool:
    return httpx.get(f"{base}/readyz", timeout=30).status_code == 200


def stored_notes(base: str, headers: dict[str, str]) -> Counter[str]:
    """How many stored notes each load key has."""
    titles: Counter[str] = Counter()
    cursor: str | None = None
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while True:
            params: dict[str, Any] = {"limit": 100} | ({"cursor": cursor} if cursor else {})
            page = client.get(NOTES, params=params)
            assert page.status_code == 200, page.text
            data = page.json()
            titles.update(note["title"].removeprefix("load ") for note in data["items"])
            cursor = data["next_cursor"]
            if cursor is None:
                return titles


def nothing_lost_or_doubled(base: str, headers: dict[str, str], load: Load) -> dict[str, int]:
    """Retry every create with its key: the first one's note comes back (or, when it never
    committed, one is made now), never a second note and never a stuck key. Then each key has
    exactly one stored note."""
    first = {answer.key: answer.note_id for answer in load.answers if answer.status == 201}
    replayed = 0
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for key, body in load.bodies.items():
            again = client.post(NOTES, json=body, headers={"Idempotency-Key": key})
            assert again.status_code == 201, (key, again.status_code, again.text)
            if key in first:
                assert again.headers.get("idempotent-replayed") == "true", key
                assert again.json()["id"] == first[key], key
            replayed += again.headers.get("idempotent-replayed") == "true"
    stored = stored_notes(base, headers)
    assert set(stored) == set(load.bodies), "a create lost, or a note no request asked for"
    doubled = {key: count for key, count in stored.items() if count > 1}
    assert not doubled, f"written twice: {doubled}"
    return {"creates": len(load.bodies), "committed": replayed}


def tally(answers: list[Answer]) -> str:
    statuses = Counter(answer.status for answer in answers)
    slowest = max(answer.seconds for answer in answers)
    shown = ", ".join(
        f"{count} {status or 'no answer'}" for status, count in sorted(statuses.items())
    )
    return f"{len(answers)} requests ({shown}), slowest {slowest:.1f} s"


def test_the_database_going_away_mid_load_is_503s_then_recovers_without_a_restart(
    stack: Stack, record_property: Any
) -> None:
    headers = {"Authorization": f"Bearer {stack.token}"}
    with stack.served() as service:
        with Load(service.base, headers) as load:
            time.sleep(2)
            load.phase = "refused"  # the server is gone: connections cut, new ones refused
            stack.postgres.refuse()
            time.sleep(1)
            down = httpx.get(f"{service.base}/readyz", timeout=30)
            time.sleep(2)
            load.phase = "recovering"
            stack.postgres.restore()
            recovered = wait_until(lambda: ready(service.base), 20, "ready once it is back")
            load.phase = "after"
            time.sleep(2)
            load.phase = "blackholed"  # a partition: new connections are never answered
            stack.postgres.blackhole()
            time.sleep(1)
            partitioned = httpx.get(f"{service.base}/readyz", timeout=30)
            time.sleep(3)
            load.phase = "recovering again"
            stack.postgres.restore()
            wait_until(lambda: ready(service.base), 20, "ready after the partition")
            load.phase = "after again"
            time.sleep(2)
        kept = nothing_lost_or_doubled(service.base, headers, load)
    answers = load.answers
    assert not problems(answers)
    for outage in (down, partitioned):
        assert outage.status_code == 503
        assert outage.json()["checks"]["database"] != "ok"
    for phase in ("refused", "blackholed"):
        during = statuses(answers, phase)
        assert {503, 504} & set(during), f"{phase}: no request failed: {Counter(during)}"
    for phase in ("before", "after", "after again"):
        served = statuses(answers, phase)
        assert served, f"{phase}: no request made"
        assert set(served) <= {200, 201}, f"{phase}: {Counter(served)}"
    record_property(
        "figure",
        f"database refused, then blackholed, mid-load: {tally(answers)}; ready "
        f"{recovered:.1f} s after it was back, no restart; {kept['creates']} creates retried "
        f"with their keys ({kept['committed']} had committed): 0 lost, 0 written twice",
    )


def test_redis_going_away_mid_load_serves_on_without_limits_and_logs_each_outage_once(
    stack: Stack, record_property: Any
) -> None:
    headers = {"Authorization": f"Bearer {stack.token}"}
    with stack.served() as service, Load(service.base, headers) as load:
        time.sleep(2)
        load.phase = "refused"
        stack.redis.refuse()
        time.sleep(3)
        degraded = httpx.get(f"{service.base}/readyz", timeout=30)
        load.phase = "after"
        stack.redis.restore()
        time.sleep(3)
        load.phase = "blackholed"
        stack.redis.blackhole()
        time.sleep(3)
        load.phase = "after again"
        stack.redis.restore()
        time.sleep(3)
    answers = load.answers
    # Failing open (the default): every request is served, none waits past Redis's timeout
    # for long, and each outage is one line when it begins and one when it ends.
    assert not problems(answers, within=0.5 + 4)
    assert {a.status for a in answers} <= {200, 201}, Counter(a.status for a in answers)
    assert degraded.status_code == 200
    assert degraded.json()["status"] == "degraded"
    events = stack.log_events()
    assert events["rate_limit_store_down"] == 2, events
    assert events["rate_limit_store_recovered"] == 2, events
    record_property(
        "figure",
        f"Redis refused, then blackholed, mid-load: {tally(answers)}; "
        "2 outages logged as 2 rate_limit_store_down and 2 rate_limit_store_recovered lines",
    )


def test_an_identity_provider_that_does_not_answer_is_503s_within_the_timeout(
    stack: Stack, record_property: Any
) -> None:
    headers = {"Authorization": f"Bearer {stack.token}"}
    stack.idp.blackhole()  # before the service has fetched a key
    with stack.served() as service:
        with Load(service.base, headers) as load:
            load.phase = "blackholed"
            time.sleep(4)
            load.phase = "recovering"
            stack.idp.restore()
            wait_until(lambda: ready(service.base), 20, "ready once the provider is back")
            load.phase = "after"
            time.sleep(2)
            load.phase = "refused"  # keys in hand: tokens still pass
            stack.idp.refuse()
            time.sleep(2)
        stack.idp.restore()
    answers = load.answers
    # One fetch at most (HTTP_TIMEOUT_SECONDS) for each request, however many queue behind it.
    assert not problems(answers, within=2 + 3)
    during = Counter(statuses(answers, "blackholed"))
    assert during, "no request made"
    assert set(during) <= {503, 504}, during
    for phase in ("after", "refused"):
        served = statuses(answers, phase)
        assert served, f"{phase}: no request made"
        assert set(served) <= {200, 201}, f"{phase}: {Counter(served)}"
    record_property(
        "figure",
        f"identity provider blackholed before the first key, then refused: {tally(answers)}",
    )


def test_a_worker_killed_mid_write_leaves_no_half_written_note_and_no_stuck_key(
    stack: Stack, record_property: Any
) -> None:
    headers = {"Authorization": f"Bearer {stack.token}"}
    service = stack.served()
    service.start()
    try:
        with Load(service.base, headers, clients=6, creates_only=True) as load:
            time.sleep(2)
            load.phase = "killed"
            service.kill()  # SIGKILL, with creates in flight
            time.sleep(0.5)
        service.start()
        kept = nothing_lost_or_doubled(service.base, headers, load)
    finally:
        service.stop()
    cut_off = [a for a in load.answers if a.status == 0]
    assert cut_off, "the kill interrupted no request: nothing was tested"
    assert not problems([a for a in load.answers if a.status != 0])
    record_property(
        "figure",
        f"worker killed mid-write: {tally(load.answers)}; {kept['creates']} creates retried "
        f"with their keys ({kept['committed']} had committed): 0 lost, 0 written twice, 0 stuck",
    )


def test_the_backup_store_going_away_fails_the_backup_with_a_reason_and_keeps_the_local_copy(
    stack: Stack, record_property: Any
) -> None:
    with stand_in(stack.project, S3_SERVER) as s3:
        endpoint = httpx.URL(s3["BACKUP_S3_ENDPOINT_URL"])
        proxy = FaultProxy((endpoint.host, endpoint.port or 80))
        try:
            env = (
                stack.env
                | S3_CREDENTIALS
                | s3
                | {
                    "BACKUP_S3_ENDPOINT_URL": f"http://{proxy.address}",
                    "BACKUP_S3_TIMEOUT_SECONDS": "1",
                }
            )
            outcomes = {}
            for fault in ("refuse", "blackhole"):
                getattr(proxy, fault)()
                started = time.monotonic()
                ran = subprocess.run(
                    [*stack.cli, "backup"], cwd=stack.project, env=env,
                    capture_output=True, text=True, timeout=300,
                )  # fmt: skip
                outcomes[fault] = time.monotonic() - started
                assert ran.returncode == 1, ran.stdout + ran.stderr
                assert "S3 upload failed" in ran.stderr, ran.stderr
                assert "is complete" in ran.stderr, ran.stderr  # ... and the local copy is kept
            proxy.restore()
            good = subprocess.run(
                [*stack.cli, "backup"], cwd=stack.project, env=env,
                capture_output=True, text=True, timeout=300,
            )  # fmt: skip
            assert good.returncode == 0, good.stdout + good.stderr
        finally:
            proxy.close()
    local = sorted(path.name for path in (stack.logs / "backups").iterdir())
    manifests = [name for name in local if name.endswith(".json")]
    assert len(manifests) == 3, local  # both failed uploads' backups were kept, and the good one
    record_property(
        "figure",
        f"backup store refused: exit 1 in {outcomes['refuse']:.1f} s; blackholed: exit 1 in "
        f"{outcomes['blackhole']:.1f} s; local copies kept: 2 of 2",
    )


def peak_rss_mib(pid: int) -> float:
    """A process's peak resident memory (VmHWM), from Linux's /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def post_raw(port: int, head: bytes, chunks: Iterator[bytes]) -> int:
    """POST over a plain socket, the body sent as it comes; the answer's status. The server may
    answer before the body is all sent, and stop reading it: what is left is not sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head)
        with suppress(OSError):
            for chunk in chunks:
                connection.sendall(chunk)
        answer = b""
        while b"\r\n" not in answer and (data := connection.recv(65536)):
            answer += data
    return int(answer.split(b" ", 2)[1])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is read from /proc")
def test_a_10_mib_body_is_a_413_and_is_never_held_in_memory(
    stack: Stack, record_property: Any
) -> None:
    size = 10 * 1024 * 1024
    start, end = b'{"title": "big", "body": "', b'"}'
    note = start + b"a" * (size - len(start) - len(end)) + end
    auth = f"Authorization: Bearer {stack.token}\r\n".encode()
    head = b"POST /api/v1/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + auth

    def declared() -> tuple[bytes, Iterator[bytes]]:
        chunks = (note[i : i + 65536] for i in range(0, size, 65536))
        return head + f"Content-Length: {size}\r\n\r\n".encode(), chunks

    def streamed() -> tuple[bytes, Iterator[bytes]]:
        chunks = (
            b"%x\r\n%s\r\n" % (len(part), part)
            for part in (note[i : i + 65536] for i in range(0, size, 65536))
        )
        return head + b"Transfer-Encoding: chunked\r\n\r\n", itertools.chain(chunks, [b"0\r\n\r\n"])

    growth, answered = {}, {}
    # With the limit, and without it (MAX_BODY_BYTES=0): a body read whole must show.
    for limit in ("1048576", "0"):
        env = stack.env | {"MAX_BODY_BYTES": limit}
        with Served(stack.cli, stack.project, env, stack.logs / "serve.log") as service:
            assert service.process is not None
            small = httpx.post(
                f"{service.base}{NOTES}",
                json={"title": "warm"},
                headers={"Authorization": f"Bearer {stack.token}"},
            )
            assert small.status_code == 201
            before = peak_rss_mib(service.process.pid)
            answered[limit] = [post_raw(service.port, *send()) for send in (declared, streamed)]
            growth[limit] = peak_rss_mib(service.process.pid) - before
    assert answered["1048576"] == [413, 413]
    assert answered["0"] == [422, 422]  # read whole, then refused: the body is too long a note
    assert growth["0"] > 10, growth  # the measure sees a body held in memory ...
    assert growth["1048576"] < 2, growth  # ... and with the limit, none is
    record_property(
        "figure",
        f"10 MiB body, declared and streamed: 413 both, peak RSS +{growth['1048576']:.1f} MiB "
        f"(+{growth['0']:.1f} MiB with the limit off)",
    )
