"""Attack class: CSV (formula) injection. A title or metadata value such as `=HYPERLINK(...)` must not reach a
spreadsheet as a formula: exported cells starting with =, +, -, @, tab or carriage return get a leading `'` (as does
a cell that starts with `'` itself), and the import reads its own export back to the same values."""

import csv
import io

import pytest
from django.urls import reverse

from metadata_site.items.models import Item
from metadata_site.lib.csvescape import escape_cell, unescape_cell

from ..factories import make_folder, make_item, make_user, make_workspace
from ..imports.helpers import corpus_schema, run_import

HOSTILE = ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1:A9)", "'quoted", "''twice", "plain"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def folder(workspace):
    corpus_schema(workspace)
    folder = make_folder(workspace, "cams")
    for i, text in enumerate(HOSTILE):
        make_item(folder, f"{text} {i}", media_url=f"https://x.example/{i}.jpg",
                  metadata={"camera": text, "temperature": -3.5 - i, "colors": ["red"] if i else []})  # fmt: skip
    make_item(folder, "tab", media_url="https://x.example/t.jpg", metadata={"camera": "\tcmd", "source": None})
    make_item(folder, "cr", media_url="https://x.example/r.jpg", metadata={"camera": "\rcmd"})
    return folder


def _export(client, folder) -> str:
    response = client.get(reverse("imports:export", args=["acme"]), {"scope": f"folder:{folder.pk}", "format": "csv"})
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"), ("+1", "'+1"), ("-x", "'-x"), ("@a", "'@a"), ("\tx", "'\tx"), ("\rx", "'\rx"),
        ("'x", "''x"), ("x'", "x'"), ("-3.5", "-3.5"), ("-1e-05", "-1e-05"), ("-3.5+1", "'-3.5+1"), ("", ""),
    ],
)
def test_a_cell_is_escaped_only_when_a_spreadsheet_could_run_it_and_reads_back_the_same(value, cell):
    assert escape_cell(value) == cell
    assert unescape_cell(escape_cell(value)) == value


def test_no_exported_cell_starts_a_formula(login, owner, folder):
    rows = list(csv.reader(io.StringIO(_export(login(owner), folder))))
    cells = [cell for row in rows for cell in row]
    starting = [c for c in cells if c.startswith(TRIGGERS)]
    assert starting and all(c.lstrip("-").replace(".", "").isdigit() for c in starting)  # negative numbers only
    assert "'=HYPERLINK(\"http://x\")" in cells and "'\tcmd" in cells and "'\rcmd" in cells
    assert "-3.5" in cells and "'''twice" in cells


def test_the_import_reads_its_own_export_back_to_the_same_values(login, owner, folder):
    body = _export(login(owner), folder)
    other = make_user("other")
    fresh = make_workspace("fresh", members={other: "admin"})
    corpus_schema(fresh)
    target = make_folder(fresh, "copy")
    task = run_import(fresh, other, body, "export.csv", kind="data", target={"folder": target.pk})
    assert (task.status, task.error_count) == ("COMPLETED", 0)
    copied = {i.title: i.client_metadata for i in Item.objects.filter(workspace=fresh)}
    for i, text in enumerate(HOSTILE):
        assert copied[f"{text} {i}"]["camera"] == text
        assert copied[f"{text} {i}"]["temperature"] == -3.5 - i
