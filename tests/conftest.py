"""Shared fixtures: a workspace with an owner (admin), an editor and a viewer, and a stranger
who belongs only to another workspace. Browser tests use Debian's Chromium."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.db import connection

from metadata_site.workspaces.models import Role

from .factories import PASSWORD, make_user, make_workspace

# Playwright's sync API runs an event loop in the test thread; Django's DB fixtures are sync.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config):
    from django.conf import settings

    # Real password hashing costs ~0.3 s per user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Kept explorer figures in a directory of this test process's own (each xdist worker has its own database).
    cache_dir = Path(tempfile.mkdtemp(prefix="metadata_site-explorer-cache-"))
    config.add_cleanup(lambda: shutil.rmtree(cache_dir, ignore_errors=True))
    settings.EXPLORER_CACHE_DIR = cache_dir
    settings.CACHES = {**settings.CACHES, "explorer": {**settings.CACHES["explorer"], "LOCATION": str(cache_dir / "figures")}}


@pytest.fixture(autouse=True)
def _no_media_fetching(settings):
    """Items made with made-up media URLs (example.com) are not fetched, unless a test turns fetching on."""
    settings.MEDIA_FETCH_URLS = False


@pytest.fixture(autouse=True)
def _vector_indexes_in_tmp(settings, tmp_path_factory):
    """The worker's nearest-neighbour index files (embedding fields) go to a temporary directory."""
    settings.VECTOR_INDEX_DIR = tmp_path_factory.getbasetemp() / "vector-indexes"


@pytest.fixture(autouse=True)
def _tasks_run_immediately(settings):
    """Background tasks run synchronously in tests, unless a test asks for the real backend."""
    settings.TASKS = {
        "default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default", "media"]}
    }


@pytest.fixture
def owner(db):
    return make_user("owner")


@pytest.fixture
def editor(db):
    return make_user("editor")


@pytest.fixture
def viewer(db):
    return make_user("viewer")


@pytest.fixture
def member(viewer):
    """The read-only member of the STYLE guide's owner / member / stranger trio."""
    return viewer


@pytest.fixture
def stranger(db):
    user = make_user("stranger")
    make_workspace("elsewhere", members={user: Role.ADMIN})
    return user


@pytest.fixture
def workspace(owner, editor, viewer):
    return make_workspace("acme", members={owner: Role.ADMIN, editor: Role.EDITOR, viewer: Role.VIEWER})


@pytest.fixture
def login(client):
    """login(user) logs the test client in as `user` and returns the client."""

    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def password():
    return PASSWORD


# --- browser tests -------------------------------------------------------------------------

def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    path = _chromium()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required in CI (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": path,
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def browser_login(live_server, page):
    """browser_login(user) logs `page` in through the real login form and returns the page."""

    def _login(user):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        # Wait until the login POST has redirected away: navigating earlier would cancel it (no session).
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    return _login


# --- the real worker: `manage.py db_worker` in a subprocess (imports, renames, media) ---------------------------

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def real_worker(settings, tmp_path):
    """real_worker(*options) starts `manage.py db_worker` on the test database (PostgreSQL only), with the
    database task backend in this process too, and MEDIA_ROOT in tmp_path for both."""
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot reach the in-memory SQLite test database")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.MEDIA_ROOT = tmp_path
    db = connection.settings_dict
    env = {**os.environ, "MEDIA_ROOT": str(tmp_path), "DATABASE_CONN_MAX_AGE": "0",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"}

    def start(*extra):
        return subprocess.Popen([sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay",
                                 "--interval", "0.1", *extra], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    return start
