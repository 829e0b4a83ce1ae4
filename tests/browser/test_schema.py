"""The schema page in real Chromium: a field changed away from enum loses its options by itself, an import
refuses keys it does not know, and the downloaded schema imports back unchanged."""

import pytest

from metadata_site.schemas.models import MetadataSchema
from metadata_site.schemas.selectors import schema_current
from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_item, make_schema, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workspace():
    user = make_user("alice")
    workspace = make_workspace("acme", members={user: Role.ADMIN})
    make_schema(workspace, [
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"], "description": "Sky at capture time"},
        {"name": "colors", "type": "enum", "options": ["red", "blue"], "is_multi": True},
    ])
    make_item(make_folder(workspace), metadata={"weather": "Sunny"})
    return workspace


def test_changing_a_field_away_from_enum_clears_its_options(live_server, browser_login, workspace):
    page = browser_login(workspace.memberships.get().user)
    page.goto(f"{live_server.url}/w/acme/schema/change/?field=weather")
    assert page.is_visible("#id_options")
    page.select_option("#id_type", "string")
    assert not page.is_visible("#id_options") and not page.is_visible("#id_is_multi")
    page.click("button:has-text('Preview the change')")
    page.wait_for_selector("#change-preview")
    page.click("#change-preview button[type=submit]")
    page.wait_for_selector("text=Field “weather” changed")
    spec = schema_current(workspace=workspace).get("weather")
    assert (spec.type, spec.options) == ("string", ())


def test_an_import_refuses_unknown_keys_and_the_download_imports_back_unchanged(
    live_server, browser_login, workspace, tmp_path
):
    page = browser_login(workspace.memberships.get().user)
    page.goto(f"{live_server.url}/w/acme/schema/import/")
    page.fill("#id_document", '[{"name": "colors", "type": "enum", "options": ["red", "blue"], "multi": true}]')
    page.click("button:has-text('Preview')")
    page.wait_for_selector("#import-errors")
    assert "Unknown key 'multi' (did you mean 'is_multi'?)" in page.inner_text("#import-errors")

    page.goto(f"{live_server.url}/w/acme/schema/")
    with page.expect_download() as download:
        page.click("#download-schema")
    path = tmp_path / "schema.json"
    download.value.save_as(path)
    page.goto(f"{live_server.url}/w/acme/schema/import/")
    page.set_input_files("#id_file", str(path))
    page.click("button:has-text('Preview')")
    page.wait_for_selector("text=No difference with the current schema.")
    assert MetadataSchema.objects.filter(workspace=workspace).count() == 1
