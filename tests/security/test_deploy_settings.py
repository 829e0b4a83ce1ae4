"""Production settings (DEBUG off, SECRET_KEY and ALLOWED_HOSTS set) pass `manage.py check --deploy` with no
warning, and their cookies are Secure / HttpOnly. Each check runs in a subprocess, as the deployment would."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7Qp-3vN_k9Lr2Zt8Wm4Yb6Hc1Jd5Fg0Sa-Ue7Io3Pl9Kj2Mn6Bv8Cx4Zq1We5Rt7Yu0Ii",
    "ALLOWED_HOSTS": "metadata.example.com",
    "DATABASE_URL": "sqlite:///" + str(Path(tempfile.gettempdir()) / "ms_security_deploy_check.sqlite3"),
}


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    # The test session sets DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; a deployment must not.
    environ = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    environ.update(env or PRODUCTION)
    environ["DJANGO_SETTINGS_MODULE"] = "metadata_site.settings"
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_with_development_settings():
    """The check can fail: with DEBUG on it reports the debug and cookie warnings."""
    env = {**PRODUCTION, "DEBUG": "true"}
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr  # DEBUG must be False


def test_production_cookies_are_secure():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({k: "
        "getattr(s, k) for k in ('SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_CONTENT_TYPE_NOSNIFF', 'X_FRAME_OPTIONS')}))"
    )
    result = _run("-c", code)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert values["X_FRAME_OPTIONS"] == "DENY"


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _run("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("x", "it has 1 characters, at least 50 are needed"),
        ("short-but-varied-Key-123", "it has 24 characters, at least 50 are needed"),
        ("ab" * 40, "it has only 2 different characters, at least 5 are needed"),
        ("django-insecure-" + "k9Lr2Zt8Wm4Yb6Hc1Jd5Fg0Sa-Ue7Io3Pl9Kj2Mn6Bv8", "it starts with 'django-insecure-'"),
        ("dev-only-insecure-secret-key-change-me-in-production-0123456789", "it is the development default"),
    ],
)
def test_production_refuses_to_start_with_a_weak_secret_key(key, reason):
    result = _run("manage.py", "check", env={**PRODUCTION, "SECRET_KEY": key})
    assert result.returncode != 0
    assert f"SECRET_KEY is too weak for DEBUG=false: {reason}." in result.stderr


def test_a_short_secret_key_is_fine_in_development():
    result = _run("manage.py", "check", env={**PRODUCTION, "DEBUG": "true", "SECRET_KEY": "x"})
    assert result.returncode == 0, result.stderr
