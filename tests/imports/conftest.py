"""The real worker for import tests: `manage.py db_worker` in a subprocess."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


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
