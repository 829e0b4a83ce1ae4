"""Reads on the replica, writes on the primary, proved against a real primary and streaming replica (conftest).

What a request read is seen in the data: the replica's replay is paused, the primary changes an item, and the
answer shows the item as the replica or as the primary has it. Tests change a title or a note to a fresh value each.
"""

import json
import time
import uuid

import pytest

from metadata_site.db_router import PIN_COOKIE

from .conftest import _manage

# A replica lagging up to an hour is still used: a paused replica answers, so what it answered is visible.
STALE_OK = {"DATABASE_REPLICA_MAX_LAG_SECONDS": 3600, "DATABASE_REPLICA_PIN_SECONDS": 4000,
            "DATABASE_STATEMENT_TIMEOUT_MS": 4321}


def _fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _title(cluster) -> str:
    return cluster.primary("SELECT title FROM items_item WHERE uid = %s", [cluster.item_uid])[0][0]


def _set_on_primary(cluster, *, title: str | None = None, note: str | None = None) -> None:
    if title is not None:
        cluster.primary("UPDATE items_item SET title = %s WHERE uid = %s", [title, cluster.item_uid])
    if note is not None:
        cluster.primary("UPDATE items_item SET client_metadata = %s WHERE uid = %s",
                        [json.dumps({"note": note}), cluster.item_uid])


def _unpinned_client(server, cluster):
    """Logged in, the login's pin dropped (as once its seconds are over), the replica holding the session."""
    client = server.login()
    assert PIN_COOKIE in client.cookies, "the login wrote: the browser is pinned to the primary"
    client.cookies.delete(PIN_COOKIE)
    cluster.wait_caught_up()
    return client


@pytest.fixture
def paused_replica(pg_cluster):
    pg_cluster.pause_replay()
    yield pg_cluster
    pg_cluster.resume_replay()


def test_reads_of_pages_and_of_the_api_reach_the_replica(pg_cluster, app_server):
    server = app_server(**STALE_OK)
    client = _unpinned_client(server, pg_cluster)
    before = _title(pg_cluster)
    note_before = client.get(f"/api/w/acme/items/{pg_cluster.item_uid}/metadata").json()["note"]
    pg_cluster.pause_replay()
    try:
        after, note_after = _fresh("title") + ".jpg", _fresh("note")
        _set_on_primary(pg_cluster, title=after, note=note_after)
        page = client.get(f"/w/acme/items/{pg_cluster.item_uid}/")
        assert page.status_code == 200
        assert before in page.text and after not in page.text, "the page was read on the paused replica"
        api = client.get(f"/api/w/acme/items/{pg_cluster.item_uid}/metadata")
        assert api.status_code == 200 and api.json() == {"note": note_before}
    finally:
        pg_cluster.resume_replay()
    page = client.get(f"/w/acme/items/{pg_cluster.item_uid}/")
    assert after in page.text, "replay resumed: the replica has the change"


def test_the_explorer_reads_its_grid_its_keys_and_its_exports_on_the_replica(pg_cluster, app_server):
    server = app_server(**STALE_OK)
    client = _unpinned_client(server, pg_cluster)
    before, after, key = _title(pg_cluster), _fresh("explored") + ".jpg", _fresh("late_key").replace("-", "_")
    pg_cluster.pause_replay()
    try:
        pg_cluster.primary("UPDATE items_item SET title = %s, client_metadata = client_metadata || jsonb_build_object("
                           "%s::text, 1) WHERE uid = %s", [after, key, pg_cluster.item_uid])
        grid = client.get("/w/acme/explore/")
        assert grid.status_code == 200 and before in grid.text and after not in grid.text
        keys = client.get("/w/acme/explore/undeclared/")  # raw SQL over the items' keys
        assert keys.status_code == 200 and "note" in keys.text and key not in keys.text
        export = client.get("/w/acme/export/", params={"format": "jsonl"})  # streamed after the view returned
        assert export.status_code == 200 and before in export.text and after not in export.text
    finally:
        pg_cluster.resume_replay()
    assert key in client.get("/w/acme/explore/undeclared/").text
    assert after in client.get("/w/acme/export/", params={"format": "jsonl"}).text


def test_a_write_then_a_read_in_the_same_session_sees_the_write(pg_cluster, app_server, paused_replica):
    server = app_server(**STALE_OK)
    pg_cluster.resume_replay()
    client = _unpinned_client(server, pg_cluster)
    got = client.get(f"/api/w/acme/items/{pg_cluster.item_uid}/metadata")
    assert got.status_code == 200, got.text
    before = got.json()["note"]
    pg_cluster.pause_replay()
    note = _fresh("saved")
    saved = client.patch(f"/api/w/acme/items/{pg_cluster.item_uid}/metadata", json={"note": note},
                         headers={"X-CSRFToken": client.cookies["csrftoken"]})
    assert saved.status_code == 200, saved.text
    assert PIN_COOKIE in saved.cookies, "the response of a writing request pins the client to the primary"
    read = client.get(f"/api/w/acme/items/{pg_cluster.item_uid}/metadata")
    assert read.json()["note"] == note, "read-your-writes: the save is there"
    page = client.get(f"/w/acme/items/{pg_cluster.item_uid}/")
    assert note in page.text
    # Another browser (no pin) reads the paused replica, which does not have the save yet.
    client.cookies.delete(PIN_COOKIE)
    assert client.get(f"/api/w/acme/items/{pg_cluster.item_uid}/metadata").json()["note"] == before


def test_a_forged_pin_cookie_is_ignored(pg_cluster, app_server, paused_replica):
    server = app_server(**STALE_OK)
    pg_cluster.resume_replay()
    client = _unpinned_client(server, pg_cluster)
    before = _title(pg_cluster)
    pg_cluster.pause_replay()
    _set_on_primary(pg_cluster, title=_fresh("forged") + ".jpg")
    client.cookies.set(PIN_COOKIE, "1:forged:signature")
    page = client.get(f"/w/acme/items/{pg_cluster.item_uid}/")
    assert page.status_code == 200 and before in page.text, "an unsigned pin reads the replica like no pin"


def test_a_lagging_replica_is_skipped(pg_cluster, app_server, paused_replica):
    server = app_server(DATABASE_REPLICA_MAX_LAG_SECONDS=1, DATABASE_REPLICA_PIN_SECONDS=2)
    pg_cluster.resume_replay()
    client = _unpinned_client(server, pg_cluster)
    pg_cluster.pause_replay()
    after = _fresh("lagged") + ".jpg"
    _set_on_primary(pg_cluster, title=after)
    deadline = time.monotonic() + 20
    while pg_cluster.replica_lag() <= 1.5:  # the replica received the change but does not replay it
        assert time.monotonic() < deadline, "the paused replica never lagged"
        time.sleep(0.1)
    page = client.get(f"/w/acme/items/{pg_cluster.item_uid}/")
    assert page.status_code == 200 and after in page.text, "the primary answered"
    assert "replica replica_0 is skipped" in server.log.read_text() and "lagging" in server.log.read_text()


def test_a_stopped_replica_falls_back_to_the_primary_without_an_error(pg_cluster, app_server):
    server = app_server(**STALE_OK)
    client = _unpinned_client(server, pg_cluster)
    assert client.get(f"/w/acme/items/{pg_cluster.item_uid}/").status_code == 200  # a live replica connection
    pg_cluster.stop_replica()
    try:
        after, note = _fresh("fallback") + ".jpg", _fresh("fallback")
        _set_on_primary(pg_cluster, title=after, note=note)
        page = client.get(f"/w/acme/items/{pg_cluster.item_uid}/")
        assert page.status_code == 200 and after in page.text
        api = client.get(f"/api/w/acme/items/{pg_cluster.item_uid}/metadata")
        assert api.status_code == 200 and api.json() == {"note": note}
        assert "replica replica_0 is skipped" in server.log.read_text()
    finally:
        pg_cluster.start_replica()
    # Back up: reads return to it (its verdict is not cached here, DATABASE_REPLICA_RETRY_SECONDS=0).
    pg_cluster.pause_replay()
    try:
        newer = _fresh("back") + ".jpg"
        _set_on_primary(pg_cluster, title=newer)
        page = client.get(f"/w/acme/items/{pg_cluster.item_uid}/")
        assert page.status_code == 200 and after in page.text and newer not in page.text
    finally:
        pg_cluster.resume_replay()


def test_the_statement_timeout_of_web_requests_applies_on_the_replica(pg_cluster, app_server):
    server = app_server(**STALE_OK)
    client = _unpinned_client(server, pg_cluster)
    assert client.get(f"/w/acme/items/{pg_cluster.item_uid}/").status_code == 200
    log = pg_cluster.replica_log()
    assert "set_config('statement_timeout', '4321', false)" in log


def test_management_commands_read_on_the_primary_even_with_replicas(pg_cluster, paused_replica):
    note = _fresh("command")
    _set_on_primary(pg_cluster, note=note)
    (folder,) = pg_cluster.primary("SELECT folder_id FROM items_item WHERE uid = %s", [pg_cluster.item_uid])[0]
    exported = _manage(pg_cluster, "export_metadata", "--workspace", "acme", "--folder", str(folder),
                       env={"DATABASE_REPLICA_URLS": pg_cluster.url(pg_cluster.replica_port)})
    assert note in exported.stdout


DECLARED = """
from metadata_site.explorer import projection
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.models import Workspace
from tests.factories import make_folder, make_item, make_schema
workspace = Workspace.objects.get(slug="acme")
make_schema(workspace, [{"name": "score", "type": "float"}, {"name": "mood", "type": "enum", "options": ["calm", "wild"]}])
folder = make_folder(workspace, "scored")
for n, mood in enumerate(["calm", "wild", "calm"]):
    make_item(folder, f"scored-{n}.jpg", metadata={"score": n * 2.0, "mood": mood})
print(projection.build(workspace_id=workspace.pk, schema=schema_current(workspace=workspace)))
"""


def test_kept_counts_and_facets_read_on_the_replica_follow_the_writes_replayed_from_the_primary(pg_cluster, app_server):
    """Figures kept by a server reading the replica are patched with the change log the replica replays: exact."""
    assert _manage(pg_cluster, "shell", "-c", DECLARED).stdout.strip().endswith("built")
    server = app_server(**STALE_OK)
    client = _unpinned_client(server, pg_cluster)

    def figures() -> tuple[int, str]:
        count = client.get("/w/acme/explore/count/", params={"f": "score:gt:1", "exact": "1"})
        found = client.get("/w/acme/explore/facets/", params={"f": "score:gt:1"})
        assert count.status_code == 200 and found.status_code == 200
        total = int(count.text.split('data-total="', 1)[1].split('"', 1)[0])
        return total, found.text

    assert figures()[0] == 2
    pg_cluster.pause_replay()
    try:  # the primary changes; the replica, and so the kept figures, do not yet
        pg_cluster.primary("UPDATE items_item SET client_metadata = jsonb_build_object('score', 9.0, 'mood', 'wild') "
                           "WHERE title = 'scored-0.jpg'")
        assert figures()[0] == 2
    finally:
        pg_cluster.resume_replay()
    pg_cluster.wait_caught_up()
    total, facets_html = figures()
    assert total == 3
    pg_cluster.primary("DELETE FROM items_item WHERE title = 'scored-1.jpg'")
    pg_cluster.wait_caught_up()
    assert figures()[0] == 2
    assert figures()[1] != facets_html  # the mood counts moved with the deletion
