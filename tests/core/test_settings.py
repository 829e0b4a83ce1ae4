import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from metadata_site.settings import database_from_url, envbool, envint


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
