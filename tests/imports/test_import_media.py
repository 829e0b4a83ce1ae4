"""`manage.py import_media DIR`: every image and video under DIR becomes an item of the folder, as an import
task with progress; subfolders become folders; --link keeps the files in place; --metadata rows are matched by
title or relative path; a killed or interrupted run resumes with no duplicates and every file registered."""

import json
import signal
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from metadata_site.imports import media_import
from metadata_site.imports.models import ImportKind, ImportStatus, ImportTask
from metadata_site.imports.services import import_task_resume
from metadata_site.items.models import Item, ItemKind, MediaStatus
from metadata_site.media.models import Blob
from metadata_site.projects.models import Folder
from tests.factories import make_folder, make_schema, make_workspace
from tests.imports.helpers import recover_after_kill
from tests.media.helpers import image_bytes, video_bytes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def folder(workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
                            {"name": "temperature", "type": "float"}])
    return make_folder(workspace, "cams")


@pytest.fixture
def tree(tmp_path):
    """A directory with images, a video, a subdirectory, and files that are not media."""
    root = tmp_path / "shots"
    (root / "day2").mkdir(parents=True)
    (root / "a.jpg").write_bytes(image_bytes(40, 30, color=(200, 0, 0)))
    (root / "b.png").write_bytes(image_bytes(30, 40, fmt="PNG", color=(0, 200, 0)))
    (root / "clip.mp4").write_bytes(video_bytes(seconds=1, fps=10, gop=5))
    (root / "notes.txt").write_text("not media")
    (root / ".hidden.jpg").write_bytes(image_bytes(10, 10))
    (root / "fake.jpg").write_bytes(b"<html>not an image</html>")
    (root / "day2" / "c.jpg").write_bytes(image_bytes(20, 20, color=(0, 0, 200)))
    return root


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """run(DIR, folder, *options): the command; the worker's media tasks, queued when the import's batches
    commit (inside the test's transaction they never do), run when it is done. Returns the task."""

    def _run(root, folder, *extra):
        with django_capture_on_commit_callbacks(execute=True):
            call_command("import_media", str(root), "--workspace", "acme", "--folder", str(folder.pk),
                         "--no-progress", *extra)
        return ImportTask.objects.filter(kind=ImportKind.MEDIA).latest("created_at")

    return _run


def test_it_registers_every_image_and_video_and_reports_what_it_cannot_read(run, workspace, folder, tree):
    task = run(tree, folder)
    assert (task.status, task.total, task.inserted_rows, task.error_count) == (
        ImportStatus.COMPLETED_WITH_ERRORS, 4, 3, 1)
    assert task.progress == 100
    assert "fake.jpg" in task.sample_errors[0]["reason"]
    items = {i.title: i for i in Item.objects.filter(folder=folder)}
    assert set(items) == {"a.jpg", "b.png", "clip.mp4"}
    assert items["clip.mp4"].kind == ItemKind.VIDEO and items["a.jpg"].kind == ItemKind.IMAGE
    assert {i.media_status for i in items.values()} == {MediaStatus.READY}
    assert (items["b.png"].width, items["b.png"].height) == (30, 40)


def test_recursive_makes_subfolders_and_a_rerun_updates_instead_of_duplicating(run, workspace, folder, tree):
    run(tree, folder, "--recursive")
    sub = Folder.objects.get(workspace=workspace, parent=folder, name="day2")
    assert list(Item.objects.filter(folder=sub).values_list("title", flat=True)) == ["c.jpg"]
    blobs = Blob.objects.count()
    task = run(tree, folder, "--recursive")
    assert (task.inserted_rows, task.updated_rows) == (0, 4)
    assert Item.objects.filter(workspace=workspace).count() == 4
    assert Folder.objects.filter(workspace=workspace, name="day2").count() == 1
    assert Blob.objects.count() == blobs  # the same bytes are stored once


def test_metadata_rows_are_matched_by_relative_path_or_title(run, workspace, folder, tree, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("\n".join(json.dumps(r) for r in [
        {"title": "a.jpg", "metadata": {"weather": "Sunny"}},
        {"title": "day2/c.jpg", "metadata": {"weather": "Rain", "temperature": 3.5}},
        {"title": "clip.mp4", "metadata": {"temperature": "hot"}},
        {"metadata": {"weather": "Rain"}},
    ]))
    task = run(tree, folder, "--recursive", "--metadata", str(rows))
    md = {i.title: i.client_metadata for i in Item.objects.filter(workspace=workspace)}
    assert md["a.jpg"] == {"weather": "Sunny"} and md["c.jpg"] == {"weather": "Rain", "temperature": 3.5}
    reasons = " | ".join(e["reason"] for e in task.sample_errors)
    assert "metadata file, row 3" in reasons and "clip.mp4: the metadata does not fit the schema" in reasons
    assert "clip.mp4" not in md  # refused with its reason, nothing written for it


def test_metadata_from_a_csv_file(run, workspace, folder, tree, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("title,weather,temperature\nb.png,Rain,12.5\n")
    run(tree, folder, "--metadata", str(rows))
    assert Item.objects.get(folder=folder, title="b.png").client_metadata == {"weather": "Rain", "temperature": 12.5}


def test_link_keeps_the_files_where_they_are_and_serves_them(run, workspace, folder, tree, login, owner, media_root):
    run(tree, folder, "--link")
    item = Item.objects.get(folder=folder, title="a.jpg")
    stored = Path(media_root) / item.blob.storage_name
    assert stored.is_symlink() and stored.resolve() == (tree / "a.jpg").resolve()
    response = login(owner).get(reverse("media:original", args=["acme", item.uid]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == (tree / "a.jpg").read_bytes()
    assert item.media_status == MediaStatus.READY
    assert not any(p.is_symlink() and "fake" in str(p.resolve()) for p in Path(media_root).rglob("*"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/dir"], "No such directory"),
        (["{tree}", "--metadata", "/no/such.jsonl"], "No such metadata file"),
        (["{tree}", "--metadata", "{tree}/notes.txt"], "Unknown file format"),
    ],
)
def test_bad_arguments_are_refused_with_their_reason_and_nothing_is_written(workspace, folder, tree, args, message):
    args = [a.format(tree=tree) for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("import_media", *args, "--workspace", "acme", "--folder", str(folder.pk), "--no-progress")
    assert not ImportTask.objects.filter(workspace=workspace).exists()
    assert not Item.objects.filter(workspace=workspace).exists()


def test_a_folder_of_another_workspace_is_refused(workspace, folder, tree):
    other = make_folder(make_workspace("other"), "theirs")
    with pytest.raises(CommandError, match=f"No folder {other.pk} in the workspace 'acme'"):
        call_command("import_media", str(tree), "--workspace", "acme", "--folder", str(other.pk), "--no-progress")
    assert not Item.objects.filter(workspace=workspace).exists()


def test_an_interrupted_run_resumes_after_its_last_batch_without_duplicates(run, workspace, folder, tmp_path, monkeypatch):
    root = tmp_path / "many"
    root.mkdir()
    for n in range(10):
        (root / f"img_{n:02d}.jpg").write_bytes(image_bytes(16, 16, color=(n * 20, 0, 0)))
    monkeypatch.setattr(media_import, "BATCH_FILES", 3)
    real = media_import._register
    calls = {"n": 0}

    def dies_at_the_eighth_file(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 8:  # in the middle of the third batch: the process is gone
            raise SystemExit("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(media_import, "_register", dies_at_the_eighth_file)
    with pytest.raises(SystemExit):
        run(root, folder)
    task = ImportTask.objects.get(kind=ImportKind.MEDIA)
    assert (task.status, task.committed_offset) == (ImportStatus.RUNNING, 6)
    assert Item.objects.filter(folder=folder).count() == 6  # the third batch's items were rolled back
    monkeypatch.setattr(media_import, "_register", real)
    import_task_resume(task=task)  # what `manage.py resume_imports` does
    task.refresh_from_db()
    assert (task.status, task.committed_offset, task.inserted_rows) == (ImportStatus.COMPLETED, 10, 10)
    titles = list(Item.objects.filter(folder=folder).values_list("title", flat=True))
    assert sorted(titles) == [f"img_{n:02d}.jpg" for n in range(10)]


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_process_is_resumed_and_registers_every_file_once(workspace, folder, tmp_path, real_worker):
    root = tmp_path / "many"
    root.mkdir()
    n = 150
    for k in range(n):
        (root / f"img_{k:03d}.jpg").write_bytes(image_bytes(24, 16, color=(k, 255 - k, 0)))
    worker = real_worker
    call_command("import_media", str(root), "--workspace", "acme", "--folder", str(folder.pk), "--background")
    task = ImportTask.objects.get(kind=ImportKind.MEDIA)
    process = worker()
    deadline = time.monotonic() + 120
    while ImportTask.objects.get(pk=task.pk).committed_offset == 0:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    task.refresh_from_db()
    assert task.status == ImportStatus.RUNNING and 0 < task.committed_offset < n
    recover_after_kill(task.task_result_id)  # what `resume_imports` (`recover_tasks`) does, once PostgreSQL noticed
    worker("--batch").wait(timeout=300)
    worker("--batch", "--queue-name", "media").wait(timeout=300)  # the thumbnails (the media queue's worker)
    task.refresh_from_db()
    assert (task.status, task.committed_offset, task.error_count) == (ImportStatus.COMPLETED, n, 0)
    assert task.inserted_rows + task.updated_rows == n
    assert Item.objects.filter(folder=folder).count() == n
    not_ready = Item.objects.filter(folder=folder).exclude(media_status=MediaStatus.READY)
    assert not list(not_ready.values_list("title", "media_status", "media_error"))


def test_the_task_page_shows_its_progress_like_other_imports(run, workspace, folder, tree, login, owner, member, stranger):
    task = run(tree, folder)
    url = reverse("imports:task", args=["acme", task.pk])
    html = login(owner).get(url).content.decode()
    assert "Media files: shots" in html and 'id="count-inserted">3<' in html and "fake.jpg" in html
    report = login(owner).get(reverse("imports:errors", args=["acme", task.pk]))
    lines = b"".join(report.streaming_content).decode().splitlines()
    assert lines[0] == "row_index,reason,row" and len(lines) == 2 and "fake.jpg: an HTML document" in lines[1]
    assert login(member).get(url).status_code == 200
    assert login(stranger).get(url).status_code == 404


def test_the_metadata_runner_refuses_a_media_task_by_name_and_the_worker_task_runs_it(workspace, folder, tree):
    from metadata_site.imports.services import ImportTaskError, import_task_run
    from metadata_site.imports.tasks import run_import

    task = media_import.media_import_create(workspace=workspace, folder_id=folder.pk, directory=tree, enqueue=False)
    with pytest.raises(ImportTaskError, match=f"Import task {task.pk} is a media import: media_import_run runs it"):
        import_task_run(task_id=task.pk)
    task.refresh_from_db()
    assert task.committed_offset == 0 and not Item.objects.filter(folder=folder).exists()
    run_import.call(task.pk)  # what the worker does with the queued task
    task.refresh_from_db()
    assert task.status == ImportStatus.COMPLETED_WITH_ERRORS
    assert Item.objects.filter(folder=folder).count() == 3
