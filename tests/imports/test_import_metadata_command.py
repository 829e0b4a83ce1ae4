import json

import pytest
from django.core.management import CommandError, call_command

from metadata_site.imports.models import ImportTask

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
    assert ImportTask.objects.get().change_set.entries.count() == 1


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
