"""A private PostgreSQL primary and streaming replica for the routing tests, and the app served against them.

The session fixture `pg_cluster` runs PostgreSQL 15's own binaries (`pg_config --bindir`, or
/usr/lib/postgresql/15/bin): `initdb` a primary, migrate the app's database on it, `pg_basebackup -R` a replica
from it, and `pg_ctl` both on free ports under a temporary folder, removed at the end. PostgreSQL refuses to run as
root, so under root the binaries run as the `postgres` user, who then owns the folder. The tests are PostgreSQL
only: skipped on SQLite; skipped without the binaries, except in CI (CI=true), where that is a failure.

`app_server(**env)` serves the app with gunicorn against the primary, with the replica in DATABASE_REPLICA_URLS;
the tests talk to it over HTTP like a browser or an API client (httpx, cookies kept).
"""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PG15_BINDIR = Path("/usr/lib/postgresql/15/bin")
DB_NAME = "app"
PASSWORD = "correct horse battery staple"


def _pg_bindir() -> Path | None:
    candidates = []
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False).stdout.strip()
        if out:
            candidates.append(Path(out))
    candidates.append(PG15_BINDIR)
    for path in candidates:
        if all((path / name).exists() for name in ("initdb", "pg_ctl", "pg_basebackup")):
            return path
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _skip_or_fail(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


class Cluster:
    """A primary and one streaming replica, each a `pg_ctl`-managed data folder under `root`."""

    def __init__(self, bindir: Path, root: Path):
        self.bindir, self.root = bindir, root
        self.primary_port, self.replica_port = _free_port(), _free_port()
        self.as_postgres = os.geteuid() == 0

    # -- processes --------------------------------------------------------------------------------

    def run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")

    def _ctl(self, name: str, *args: str) -> None:
        self.run("pg_ctl", "-D", str(self.root / name), *args)

    def _start(self, name: str, port: int, *extra: str) -> None:
        options = " ".join([f"-p {port}", f"-k {self.root}", *extra])
        self._ctl(name, "-l", str(self.root / f"{name}.log"), "-o", options, "-w", "start")

    def start(self) -> None:
        self.run("initdb", "-D", str(self.root / "primary"), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-sync", "--no-instructions")
        with (self.root / "primary" / "postgresql.conf").open("a") as conf:
            # A throwaway cluster: no durability, quick checkpoints; streaming replication on.
            conf.write("listen_addresses = '127.0.0.1'\nfsync = off\n"
                       "full_page_writes = off\nwal_level = replica\nmax_wal_senders = 4\n")
        with (self.root / "primary" / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self._start("primary", self.primary_port)
        with self.connect(self.primary_port, "postgres") as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")

    def add_replica(self) -> None:
        self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port), "-U", "postgres",
                 "-D", str(self.root / "replica"), "-R", "-X", "stream", "-c", "fast", "--no-sync")
        self.start_replica()

    def start_replica(self) -> None:
        # Every statement is logged: the tests read in the log what the app's replica connections ran.
        self._start("replica", self.replica_port, "-c log_statement=all")
        self.wait_caught_up()

    def stop_replica(self) -> None:
        self._ctl("replica", "-m", "fast", "-w", "stop")

    def stop(self) -> None:
        for name in ("replica", "primary"):
            if (self.root / name / "postmaster.pid").exists():
                try:
                    self._ctl(name, "-m", "immediate", "-w", "stop")
                except (RuntimeError, subprocess.TimeoutExpired):
                    pass

    # -- SQL ----------------------------------------------------------------------------------------

    def connect(self, port: int, dbname: str = DB_NAME) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname, autocommit=True)

    def primary(self, sql: str, params=()) -> list[tuple]:
        with self.connect(self.primary_port) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def replica(self, sql: str, params=()) -> list[tuple]:
        with self.connect(self.replica_port) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def url(self, port: int) -> str:
        return f"postgres://postgres@127.0.0.1:{port}/{DB_NAME}"

    # -- replication ----------------------------------------------------------------------------------

    def wait_caught_up(self, timeout: float = 20) -> None:
        """Until the replica has replayed everything the primary wrote so far. (The flush position, not the insert
        one: after a record that ends on a WAL page boundary, the insert position already points past the next
        page's header, which an idle primary never writes, and the replica would never reach it.)"""
        target = self.primary("SELECT pg_current_wal_flush_lsn()")[0][0]
        deadline = time.monotonic() + timeout
        while True:
            try:
                (done,) = self.replica("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])[0]
            except psycopg.OperationalError:
                done = False  # still starting
            if done:
                return
            if time.monotonic() > deadline:
                tail = self.replica_log()[-2000:] if (self.root / "replica.log").exists() else "(no log)"
                raise RuntimeError(f"the replica did not catch up with the primary at {target}; its log ends:\n{tail}")
            time.sleep(0.05)

    def pause_replay(self) -> None:
        self.wait_caught_up()
        self.replica("SELECT pg_wal_replay_pause()")
        while self.replica("SELECT pg_get_wal_replay_pause_state()")[0][0] != "paused":
            time.sleep(0.02)

    def resume_replay(self) -> None:
        self.replica("SELECT pg_wal_replay_resume()")
        self.wait_caught_up()

    def replica_lag(self) -> float:
        """The replica's lag as the router measures it (0 when it replayed all it received)."""
        (lag,) = self.replica(
            "SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
            "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
        )[0]
        return float(lag)

    def replica_log(self) -> str:
        return (self.root / "replica.log").read_text(errors="replace")


def _manage(cluster: Cluster, *args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "DATABASE_URL": cluster.url(cluster.primary_port), "DATABASE_CONN_MAX_AGE": "0"}
    full_env.pop("DATABASE_REPLICA_URLS", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=120, check=True, **kwargs)


SEED = """
from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_item, make_user, make_workspace
owner = make_user("alice")
workspace = make_workspace("acme", members={owner: Role.ADMIN})
folder = make_folder(workspace, "pictures")
item = make_item(folder, "first-title.jpg", metadata={"note": "first"})
print(item.uid)
"""


@pytest.fixture(scope="session")
def pg_cluster():
    """The primary (its database migrated and seeded: user alice, workspace acme, one item) and its replica."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("replica routing is PostgreSQL only: run these tests with DATABASE_URL=postgres://...")
    bindir = _pg_bindir()
    if bindir is None:
        _skip_or_fail("PostgreSQL's server binaries (initdb, pg_ctl, pg_basebackup) are not installed")
    root = Path(tempfile.mkdtemp(prefix="ms-replicas-"))
    cluster = Cluster(bindir, root)
    if cluster.as_postgres:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
    try:
        cluster.start()
        _manage(cluster, "migrate", "-v0")
        cluster.item_uid = _manage(cluster, "shell", "-c", SEED).stdout.strip().splitlines()[-1]
        cluster.add_replica()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


class AppServer:
    def __init__(self, url: str, process: subprocess.Popen, log: Path):
        self.url, self.process, self.log = url, process, log

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)

    def login(self, username: str = "alice") -> httpx.Client:
        """A client logged in through the login form, as a browser is."""
        client = self.client()
        client.get("/accounts/login/")
        response = client.post("/accounts/login/", data={
            "username": username, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"],
        }, headers={"Referer": f"{self.url}/accounts/login/"})
        assert response.status_code == 302, response.text[:500]
        return client


@pytest.fixture(scope="session")
def app_server(pg_cluster, tmp_path_factory):
    """app_server(**env) serves the app (gunicorn, one process, two threads) on the primary with the replica; one
    server per distinct `env`, shared by the tests that ask for the same."""
    servers: dict[tuple, AppServer] = {}
    root = tmp_path_factory.mktemp("app-servers")

    def start(**env) -> AppServer:
        key = tuple(sorted((k, str(v)) for k, v in env.items()))
        if key in servers:
            return servers[key]
        port = _free_port()
        log = root / f"gunicorn-{port}.log"
        full_env = {
            **os.environ, "DEBUG": "true", "MEDIA_ROOT": str(root / "media"), "LOG_LEVEL": "INFO",
            "DATABASE_URL": pg_cluster.url(pg_cluster.primary_port),
            "DATABASE_REPLICA_URLS": pg_cluster.url(pg_cluster.replica_port),
            "DATABASE_REPLICA_CHECK_SECONDS": "0", "DATABASE_REPLICA_RETRY_SECONDS": "0",
            **dict(key),
        }
        with log.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:metadata_site.gunicorn", "metadata_site.wsgi",
                 "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
                cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT,
            )
        server = servers[key] = AppServer(f"http://127.0.0.1:{port}", process, log)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{server.url}/api/health", timeout=2).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)

    yield start
    for server in servers.values():
        server.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown: no wait for idle keep-alive connections
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()

