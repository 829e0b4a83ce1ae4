"""Concurrent writers lose nothing: many threads merging different keys into the same items keep every key
(PostgreSQL, real concurrent transactions); two editors saving the same custom data version get a conflict,
not a lost update; a connection killed mid-write leaves no partial write."""

import threading
import time

import pytest
from django.db import OperationalError, connection, connections, transaction

from metadata_site.items.models import Item
from metadata_site.items.services import item_metadata_write
from metadata_site.projects import services as info
from metadata_site.projects.models import Project

from ..factories import make_folder, make_item, make_project

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrency needs PostgreSQL")

THREADS = 8
ROUNDS = 5


def _in_threads(target, n: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_merges_of_different_keys_lose_no_key(workspace, owner):
    folder = make_folder(workspace)
    items = [make_item(folder, metadata={"base": 0}) for _ in range(20)]
    ids = [i.pk for i in items]

    def writer(t: int) -> None:
        for r in range(ROUNDS):
            # Each thread writes the items in a different order, to provoke lock-order trouble too.
            order = ids[t % len(ids):] + ids[: t % len(ids)]
            item_metadata_write(workspace=workspace, user=owner, mode="merge",
                                updates={pk: {f"t{t}_r{r}": r} for pk in order})  # fmt: skip

    errors = _in_threads(writer, THREADS)
    assert not errors, errors
    expected = {"base": 0} | {f"t{t}_r{r}": r for t in range(THREADS) for r in range(ROUNDS)}
    for item in Item.objects.filter(pk__in=ids):
        assert item.client_metadata == expected, sorted(set(expected) - set(item.client_metadata))


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_custom_data_saves_on_the_same_version_give_one_winner(workspace, owner, editor):
    project = make_project(workspace)
    base = info.info_save_custom_data(obj=project, data={"v": 0}, user=owner, base_version=None).version
    outcomes: list[str] = []

    def save(t: int) -> None:
        try:
            info.info_save_custom_data(obj=Project.objects.get(pk=project.pk), data={"v": t + 1}, user=editor,
                                       base_version=base)  # fmt: skip
            outcomes.append("saved")
        except info.InfoConflict:
            outcomes.append("conflict")

    errors = _in_threads(save, THREADS)
    assert not errors, errors
    assert sorted(outcomes) == ["conflict"] * (THREADS - 1) + ["saved"]
    project.refresh_from_db()
    assert project.custom_data["v"] in range(1, THREADS + 1)


@pytest.mark.django_db
def test_two_editors_of_the_same_custom_data_get_a_conflict(workspace, owner, editor):
    project = make_project(workspace)
    base = info.info_save_custom_data(obj=project, data={"a": 1}, user=owner, base_version=None).version
    info.info_save_custom_data(obj=project, data={"a": 1, "mine": True}, user=owner, base_version=base)
    with pytest.raises(info.InfoConflict):
        info.info_save_custom_data(obj=project, data={"a": 1, "theirs": True}, user=editor, base_version=base)
    project.refresh_from_db()
    assert project.custom_data == {"a": 1, "mine": True}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_mid_write_leaves_no_partial_write(workspace, owner):
    """The backend running a bulk write is terminated from another connection while it holds its row locks:
    the write fails with a database error and none of its rows changed."""
    folder = make_folder(workspace)
    items = [make_item(folder, metadata={"k": 0}) for _ in range(50)]
    ids = [i.pk for i in items]
    locked = threading.Event()
    outcome: list = []

    def writer(_: int) -> None:
        try:
            with transaction.atomic():
                Item.objects.select_for_update().filter(pk__in=ids[:1]).exists()
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_backend_pid()")
                    outcome.append(cur.fetchone()[0])
                locked.set()
                item_metadata_write(workspace=workspace, user=owner, mode="merge",
                                    updates={pk: {"k": 1, "pad": "x" * 100} for pk in ids})  # fmt: skip
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_sleep(5)")
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    thread = threading.Thread(target=lambda: (writer(0), connections.close_all()))
    thread.start()
    assert locked.wait(30)
    time.sleep(0.5)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [outcome[0]])
    thread.join(60)
    assert isinstance(outcome[-1], OperationalError), outcome
    assert all(i.client_metadata == {"k": 0} for i in Item.objects.filter(pk__in=ids))


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_to_one_import_task_give_one_winner_and_keep_nothing_of_the_losers(
        workspace, owner, editor, viewer, stranger, settings, tmp_path):
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    from metadata_site.accounts.services import api_token_create
    from metadata_site.imports.models import ImportTask
    from tests.api.conftest import ApiClient

    settings.MEDIA_ROOT = tmp_path
    folder = make_folder(workspace)
    item = make_item(folder, metadata={})
    token = api_token_create(user=editor, name="uploads")[1]
    task_id = ApiClient(token).post("/api/w/acme/imports", {"kind": "metadata_rows", "target": {"folder": folder.pk},
                                                            "dry_run": False}).json()["id"]
    # Each upload is large enough to be written in many chunks, so the uploads interleave on disk.
    bodies = [("[" + ",".join(
        f'{{"media_id": "{item.uid}", "metadata": {{"n{j}": {t}}}}}' for j in range(2000)) + "]").encode()
        for t in range(THREADS)]
    statuses: dict[int, int] = {}

    def upload(t: int) -> None:
        client = ApiClient(token)
        file = SimpleUploadedFile(f"rows{t}.json", bodies[t], content_type="application/json")
        response = client.client.post(f"/api/w/acme/imports/{task_id}/upload", {"file": file},
                                      headers=client.headers)
        statuses[t] = response.status_code

    errors = _in_threads(upload, THREADS)
    assert not errors, errors
    winners = [t for t, status in statuses.items() if status == 200]
    assert len(winners) == 1 and sorted(statuses.values()) == [200] + [409] * (THREADS - 1), statuses
    task = ImportTask.objects.get(uid=task_id)
    files = {p.name for p in Path(tmp_path, task.file_path).parent.iterdir()}
    assert files - {"errors.csv"} == {"upload.json"}, files
    assert Path(tmp_path, task.file_path).read_bytes() == bodies[winners[0]]
    assert task.file_name == f"rows{winners[0]}.json" and task.file_size == len(bodies[winners[0]])
    item.refresh_from_db()
    assert set(item.client_metadata.values()) == {winners[0]}, "only the winner's content was applied"
    for user, status in ((viewer, 403), (stranger, 404)):
        client = ApiClient(api_token_create(user=user, name="x")[1])
        file = SimpleUploadedFile("rows.json", b"[]", content_type="application/json")
        assert client.client.post(f"/api/w/acme/imports/{task_id}/upload", {"file": file},
                                  headers=client.headers).status_code == status


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_data_imports_into_one_folder_never_make_two_items_with_one_title(
        workspace, owner, settings, tmp_path, monkeypatch):
    import json

    from metadata_site.imports import services
    from metadata_site.imports.kinds import ROW_TITLE_TAKEN_MEANWHILE
    from metadata_site.imports.models import ImportTask
    from metadata_site.imports.services import import_task_create, import_task_run, import_task_upload

    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(services, "BATCH_ROWS", {"postgresql": 50, "sqlite": 50})
    folder = make_folder(workspace)
    titles = [f"t{k:04d}.jpg" for k in range(1000)]
    tasks = []
    for t in range(2):
        # The two files hold the same titles in opposite orders, so their batches meet in the middle.
        order = titles if t == 0 else titles[::-1]
        body = json.dumps({"images": [{"objectUrl": f"https://x.example/{name}", "title": name,
                                       "clientMetadata": {"by": t}} for name in order]}).encode()
        task = import_task_create(workspace=workspace, user=owner, kind="data", target={"folder": folder.pk},
                                  dry_run=False, policy="skip_bad_rows")
        tasks.append(import_task_upload(task=task, name="data.json", chunks=[body], enqueue=False))

    errors = _in_threads(lambda t: import_task_run(task_id=tasks[t].pk), 2)
    assert not errors, errors
    top = Item.objects.filter(folder=folder, parent=None)
    assert top.count() == 1000 and top.values("title").distinct().count() == 1000
    done = [ImportTask.objects.get(pk=t.pk) for t in tasks]
    assert all(t.status in ("COMPLETED", "COMPLETED_WITH_ERRORS") for t in done), [t.failure_reason for t in done]
    assert sum(t.inserted_rows for t in done) == 1000
    collided = [e for t in done for e in t.sample_errors]
    assert sum(t.error_count + t.inserted_rows + t.updated_rows for t in done) == 2000
    for e in collided:
        title = e["reason"].split("'")[1]
        assert e["reason"] == ROW_TITLE_TAKEN_MEANWHILE.format(value=title)
