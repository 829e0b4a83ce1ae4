import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from metadata_site.settings import database_from_url, envbool, envfloat, envint, replicas_from_urls

ROOT = Path(__file__).resolve().parents[2]


def test_envbool_reads_the_usual_spellings(monkeypatch):
    for raw, expected in [("true", True), ("1", True), ("YES", True), ("off", False), ("0", False)]:
        monkeypatch.setenv("FLAG", raw)
        assert envbool("FLAG", "false") is expected


def test_envbool_names_the_variable_of_a_malformed_value(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG must be a boolean"):
        envbool("DEBUG", "true")


def test_envint_names_the_variable_of_a_malformed_value(monkeypatch):
    monkeypatch.setenv("IMPORT_MAX_UPLOAD_BYTES", "lots")
    with pytest.raises(ImproperlyConfigured, match="IMPORT_MAX_UPLOAD_BYTES must be an integer"):
        envint("IMPORT_MAX_UPLOAD_BYTES", "1")


def test_a_postgres_url_becomes_a_postgresql_database():
    db = database_from_url("postgres://alice:s%40cret@db.internal:6543/meta?sslmode=require")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "meta", "alice", "s@cret", "db.internal", "6543"
    )
    assert db["OPTIONS"] == {"options": "-c jit=off", "sslmode": "require"}


def test_a_postgres_url_may_set_its_own_session_options():
    db = database_from_url("postgres://db.internal/meta?options=-c%20jit%3Don")
    assert db["OPTIONS"] == {"options": "-c jit=on"}


@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_a_sqlite_url_uses_wal_mode(tmp_path):
    db = database_from_url(f"sqlite:///{tmp_path}/x.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]


@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql://x@y/z", "must start with postgres:// or sqlite://"),
        ("postgres://x@y:5432/", "must name a database"),
        ("postgres://x@y:notaport/db", "malformed port"),
    ],
)
def test_a_malformed_database_url_is_refused_with_a_reason(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        database_from_url(url)


def test_a_sqlite_url_names_an_absolute_path():
    assert str(database_from_url("sqlite:///tmp/x.sqlite3")["NAME"]) == "/tmp/x.sqlite3"


def test_a_sqlite_url_without_a_path_is_the_embedded_database():
    db = database_from_url("sqlite://")
    assert str(db["NAME"]).endswith("var/db.sqlite3")


def test_a_postgres_url_keeps_the_connection_settings(monkeypatch):
    monkeypatch.setenv("DATABASE_CONN_MAX_AGE", "0")
    db = database_from_url("postgresql://db.internal:5433/meta?connect_timeout=3")
    assert (db["CONN_MAX_AGE"], db["CONN_HEALTH_CHECKS"], db["PORT"]) == (0, True, "5433")
    assert db["OPTIONS"] == {"options": "-c jit=off", "connect_timeout": 3}


def test_replica_urls_become_replica_aliases_mirroring_the_primary_in_tests():
    primary = database_from_url("postgres://db-primary/meta")
    replicas = replicas_from_urls(["postgres://db-r1/meta", "postgres://db-r2/meta?connect_timeout=7"], primary=primary)
    assert list(replicas) == ["replica_0", "replica_1"]
    assert (replicas["replica_0"]["HOST"], replicas["replica_1"]["HOST"]) == ("db-r1", "db-r2")
    assert replicas["replica_0"]["TEST"] == {"MIRROR": "default"}
    assert replicas["replica_0"]["OPTIONS"]["connect_timeout"] == 2, "a short default: a dead replica costs little"
    assert replicas["replica_1"]["OPTIONS"]["connect_timeout"] == 7


@pytest.mark.parametrize(
    "primary_url, urls, message",
    [
        ("sqlite://", ["postgres://r/meta"], "needs a PostgreSQL primary"),
        ("postgres://p/meta", ["sqlite:////tmp/x.sqlite3"], r"replica 1\) must start with postgres://"),
        ("postgres://p/meta", ["postgres://r/meta", "postgres://r:port/meta"], r"replica 2\) has a malformed port"),
    ],
)
def test_malformed_replica_urls_are_refused_with_a_reason(primary_url, urls, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        replicas_from_urls(urls, primary=database_from_url(primary_url))


def test_envfloat_names_the_variable_of_a_malformed_value(monkeypatch):
    for raw in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv("DATABASE_REPLICA_MAX_LAG_SECONDS", raw)
        with pytest.raises(ImproperlyConfigured, match="DATABASE_REPLICA_MAX_LAG_SECONDS must be a number of seconds"):
            envfloat("DATABASE_REPLICA_MAX_LAG_SECONDS", "5")
    monkeypatch.setenv("DATABASE_REPLICA_MAX_LAG_SECONDS", "0.5")
    assert envfloat("DATABASE_REPLICA_MAX_LAG_SECONDS", "5") == 0.5


def _import_settings(**env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", "import metadata_site.settings"], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60)


def test_a_pin_shorter_than_the_lag_a_replica_may_have_is_refused_at_start_up():
    replicas = {"DATABASE_URL": "postgres://p/meta", "DATABASE_REPLICA_URLS": "postgres://r/meta"}
    refused = _import_settings(**replicas, DATABASE_REPLICA_MAX_LAG_SECONDS="30", DATABASE_REPLICA_PIN_SECONDS="10")
    assert refused.returncode != 0
    assert "DATABASE_REPLICA_PIN_SECONDS must be at least DATABASE_REPLICA_MAX_LAG_SECONDS" in refused.stderr
    accepted = _import_settings(**replicas, DATABASE_REPLICA_MAX_LAG_SECONDS="30", DATABASE_REPLICA_PIN_SECONDS="32")
    assert accepted.returncode == 0, accepted.stderr
    without_replicas = _import_settings(DATABASE_REPLICA_MAX_LAG_SECONDS="30", DATABASE_REPLICA_PIN_SECONDS="10")
    assert without_replicas.returncode == 0, "the bound matters only with replicas"
