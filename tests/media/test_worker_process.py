"""The real media worker: `manage.py db_worker --queue-name media` in a subprocess picks up what an upload queued
and makes the thumbnail (on SQLite through the test database file, on PostgreSQL through its URL)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from metadata_site.items.models import MediaStatus

from .helpers import image_bytes, uploaded

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"sqlite://{db['NAME']}"


def test_the_media_worker_process_makes_the_thumbnail_of_an_upload(settings, media_root, workspace, login, owner):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "media"]}}
    item = uploaded(workspace, image_bytes(1200, 800), "photo.jpg", make=False)
    assert item.media_status == MediaStatus.PENDING
    env = {**os.environ, "MEDIA_ROOT": str(media_root), "DATABASE_CONN_MAX_AGE": "0", "DATABASE_URL": _database_url()}
    # The default queue's worker leaves media work alone.
    subprocess.run([sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--batch"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    item.refresh_from_db()
    assert item.media_status == MediaStatus.PENDING
    subprocess.run([sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--batch",
                    "--queue-name", "media"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    item.refresh_from_db()
    assert (item.media_status, item.width, item.height) == (MediaStatus.READY, 1200, 800)
    response = login(owner).get(reverse("items:thumbnail", args=["acme", item.uid]))
    assert response["Content-Type"] == "image/jpeg"
