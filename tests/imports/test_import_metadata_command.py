import json

import pytest
from django.core.management import CommandError, call_command

from metadata_site.imports.models import ImportTask
from metadata_site.items.services import change_set_entries

from ..factories import make_folder, make_item
from .helpers import corpus_schema


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_it_imports_a_file_with_the_same_pipeline(workspace, owner, tmp_path, capsys):
    corpus_schema(workspace)
    folder = make_folder(workspace, "cams")
    item = make_item(folder, "a.jpg")
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"title": "a.jpg", "metadata": {"dark": True}}) + "\n"
                    + json.dumps({"title": "zz.jpg", "metadata": {}}) + "\n")
    call_command("import_metadata", str(path), "--workspace", "acme", "--folder", str(folder.pk), "--no-progress")
    out = capsys.readouterr().out
    assert "Completed with errors" in out and "row 1: No item titled 'zz.jpg' in the folder 'cams'." in out
    item.refresh_from_db()
    assert item.client_metadata == {"dark": True}
    assert len(change_set_entries(ImportTask.objects.get().change_set)) == 1


def test_a_dry_run_writes_nothing(workspace, tmp_path, capsys):
    corpus_schema(workspace)
    item = make_item(make_folder(workspace, "cams"), "a.jpg")
    path = tmp_path / "rows.json"
    path.write_text(json.dumps({str(item.uid): {"dark": True}}))
    call_command("import_metadata", str(path), "--workspace", "acme", "--dry-run", "--no-progress")
    assert "rows: 1, valid: 1, with errors: 0" in capsys.readouterr().out
    item.refresh_from_db()
    assert item.client_metadata == {}


def test_a_broken_file_fails_with_its_reason(workspace, tmp_path):
    path = tmp_path / "rows.json"
    path.write_text("[{")
    with pytest.raises(CommandError) as exc:
        call_command("import_metadata", str(path), "--workspace", "acme", "--no-progress")
    assert str(exc.value) == "Invalid JSON at line 1, column 3: Expecting property name enclosed in double quotes."


def test_export_metadata_writes_what_import_metadata_reads_back(workspace, tmp_path):
    corpus_schema(workspace)
    folder = make_folder(workspace, "cams")
    item = make_item(folder, "a.jpg", metadata={"weather": "Rain", "colors": ["red"]})
    out = tmp_path / "out.jsonl"
    call_command("export_metadata", "--workspace", "acme", "--folder", str(folder.pk), "--format", "jsonl",
                 "-o", str(out), "--no-progress")
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        {"media_id": str(item.uid), "title": "a.jpg", "url": "", "kind": "image",
         "metadata": {"weather": "Rain", "colors": ["red"]}}
    ]
    item.client_metadata = {}
    item.save()
    call_command("import_metadata", str(out), "--workspace", "acme", "--mode", "overwrite", "--no-progress")
    item.refresh_from_db()
    assert item.client_metadata == {"weather": "Rain", "colors": ["red"]}


def test_export_metadata_refuses_an_unknown_folder(workspace):
    with pytest.raises(CommandError) as exc:
        call_command("export_metadata", "--workspace", "acme", "--folder", "424242", "--no-progress")
    assert str(exc.value) == "scope: no folder 424242 in this workspace"
