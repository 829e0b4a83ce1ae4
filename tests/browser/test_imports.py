"""Upload a CSV with two bad rows, read the dry-run errors, apply skipping them, see the progress bar at
100%, download the error report and undo the import.

Tasks run with the immediate backend here (the autouse fixture of tests/conftest.py): the live server's
test database is not reachable from a separate worker process on SQLite. tests/imports/test_worker.py
runs the real `db_worker` against PostgreSQL.
"""

import pytest

from metadata_site.items.models import Item
from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_item, make_user, make_workspace
from tests.imports.helpers import corpus_schema

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_an_editor_checks_applies_downloads_errors_and_undoes_an_import(live_server, browser_login, tmp_path):
    user = make_user("alice")
    ws = make_workspace("acme", members={user: Role.EDITOR})
    corpus_schema(ws)
    folder = make_folder(ws, "fleet")
    for n in range(5):
        make_item(folder, f"img_{n}.jpg", metadata={"camera": "cam-1"})
    csv_path = tmp_path / "weather.csv"
    csv_path.write_text(
        "title,weather,temperature\n"
        "img_0.jpg,Sunny,21.5\n"
        "img_1.jpg,Hail,3\n"
        "img_2.jpg,Rain,cold\n"
        "img_3.jpg,Fog,-1\n"
    )
    page = browser_login(user)
    page.goto(f"{live_server.url}/w/acme/folders/{folder.pk}/")
    page.click("text=Import metadata")
    page.set_input_files("#id_file", str(csv_path))
    page.click("#import-form button[type=submit]")

    page.wait_for_selector("#sample-errors")
    assert page.inner_text("#task-status-label") == "Checked, waiting to apply"
    assert page.inner_text("#count-valid") == "2"
    errors = page.inner_text("#sample-errors")
    assert 'weather: Expected one of the options: Sunny, Cloudy, Rain, Snow, Fog. Got "Hail".' in errors
    assert 'temperature: Expected a number. Got "cold".' in errors
    assert Item.objects.get(title="img_0.jpg").client_metadata == {"camera": "cam-1"}

    page.click("#apply-skip")
    page.wait_for_selector("#task-status[data-status=COMPLETED_WITH_ERRORS]")
    assert page.get_attribute("#task-progress", "aria-valuenow") == "100"
    assert page.inner_text("#count-updated") == "2"
    assert Item.objects.get(title="img_0.jpg").client_metadata == {"camera": "cam-1", "weather": "Sunny",
                                                                   "temperature": 21.5}

    with page.expect_download() as download_info:
        page.click("#error-report")
    report = download_info.value.path().read_text()
    assert report.splitlines() == [
        "row_index,reason,row",
        '1,"weather: Expected one of the options: Sunny, Cloudy, Rain, Snow, Fog. Got ""Hail"".",'
        '"{""temperature"": ""3"", ""title"": ""img_1.jpg"", ""weather"": ""Hail""}"',
        '2,"temperature: Expected a number. Got ""cold"".",'
        '"{""temperature"": ""cold"", ""title"": ""img_2.jpg"", ""weather"": ""Rain""}"',
    ]

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#undo")
    page.wait_for_selector("#task-undone")
    assert Item.objects.get(title="img_0.jpg").client_metadata == {"camera": "cam-1"}
    page.goto(f"{live_server.url}/w/acme/tasks/")
    assert "weather.csv" in page.inner_text("#tasks")


def test_the_import_form_shows_only_the_inputs_of_the_chosen_kind(live_server, browser_login):
    user = make_user("alice")
    ws = make_workspace("acme", members={user: Role.EDITOR})
    corpus_schema(ws)
    make_folder(ws, "fleet")
    page = browser_login(user)
    page.goto(f"{live_server.url}/w/acme/tasks/new/")
    shown = lambda: [n for n in ("folder", "dataset", "field", "mode", "match") if page.is_visible(f"#id_{n}")]  # noqa: E731
    assert shown() == ["folder", "dataset", "mode", "match"]  # metadata rows
    page.select_option("#id_kind", "field_values")
    assert shown() == ["folder", "dataset", "field"]
    page.select_option("#id_kind", "data")
    assert shown() == ["folder", "mode"]
    assert page.is_disabled("#id_field")  # a hidden input is not sent
