"""With DEBUG off, 404 and 500 are the app's own pages; a favicon is served; each log line is printed once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.views.defaults import server_error


@pytest.mark.django_db
def test_a_missing_page_is_the_apps_own_404_with_debug_off(client, owner, settings):
    settings.DEBUG = False
    client.force_login(owner)
    response = client.get("/nowhere/<script>/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'id="error-404"' in html and "css/app.css" in html and "Go to your workspaces" in html
    assert "<script>" not in html
    assert 'class="topbar"' in html  # the app's frame, with its navigation


def test_the_500_page_renders_without_context_or_database(settings):
    # No django_db mark: any database access here fails the test.
    settings.DEBUG = False
    response = server_error(RequestFactory().get("/boom/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert 'id="error-500"' in html and "css/app.css" in html


@pytest.mark.django_db
def test_the_favicon_is_linked_and_served_at_favicon_ico(client, owner):
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == "/static/favicon.ico"
    icon = Path(settings.BASE_DIR) / "static" / "favicon.ico"
    assert icon.read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file
    client.force_login(owner)
    html = client.get("/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html


def test_each_log_line_is_printed_once():
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('django.request').warning('Not Found: /x/'); "
        "logging.getLogger('django.utils.autoreload').info('Watching for file changes'); "
        "logging.getLogger('metadata_site.imports').warning('an import warning'); "
        "logging.getLogger('django.server').info('\"GET / HTTP/1.1\" 200 1')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "metadata_site.settings", "DEBUG": "true"}
    env.pop("LOG_LEVEL", None)
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                            cwd=settings.BASE_DIR, check=True)
    lines = result.stderr.splitlines()
    assert lines.count("Not Found: /x/") == 1
    assert lines.count("Watching for file changes") == 1
    assert lines.count("an import warning") == 1
    requests = [line for line in lines if '"GET / HTTP/1.1" 200 1' in line]
    assert len(requests) == 1 and requests[0].startswith("[")  # runserver's line, with its timestamp
