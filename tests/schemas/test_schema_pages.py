import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from metadata_site.schemas.models import MetadataSchema
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.services import SCHEMA_FIELD_EXISTS
from metadata_site.schemas.validation import VALUE_NOT_A_NUMBER
from tests.factories import make_folder, make_item, make_schema


def _url(name, *args):
    return reverse(f"schemas:{name}", args=["acme", *args])


@pytest.fixture
def schema(workspace):
    row = make_schema(
        workspace,
        [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"], "description": "Sky"},
         {"name": "temperature", "type": "string", "unit": "°C"}],
    )
    folder = make_folder(workspace)
    make_item(folder, metadata={"weather": "Sunny", "temperature": "21.5"})
    make_item(folder, metadata={"weather": "Rain", "temperature": "warm"})
    make_item(folder, metadata={"temperature": "3"})
    make_item(folder)
    return row


def test_owners_and_viewers_see_the_schema_and_strangers_get_404(login, owner, viewer, stranger, schema):
    assert login(owner).get(_url("schema")).status_code == 200
    assert login(viewer).get(_url("schema")).status_code == 200
    assert login(stranger).get(_url("schema")).status_code == 404
    assert login(viewer).get(_url("version", 1)).status_code == 200
    assert login(stranger).get(_url("version", 1)).status_code == 404


def test_viewers_cannot_change_the_schema(login, viewer, schema):
    client = login(viewer)
    assert client.post(_url("declare"), {"name": "x", "type": "string"}).status_code == 403
    assert client.post(_url("drop"), {"field": "weather"}).status_code == 403
    assert client.get(_url("import")).status_code == 403
    assert client.get(_url("change-field") + "?field=weather").status_code == 403
    assert MetadataSchema.objects.count() == 1


def test_strangers_cannot_change_the_schema(login, stranger, schema):
    assert login(stranger).post(_url("declare"), {"name": "x", "type": "string"}).status_code == 404
    assert login(stranger).get(_url("import")).status_code == 404


def test_the_page_shows_each_field_with_its_coverage(login, viewer, schema):
    html = login(viewer).get(_url("schema")).content.decode()
    assert "4 items in this workspace" in html
    assert '<div class="fill" style="width: 50%"></div></div><span class="small">2 · 50%</span>' in html
    assert '<div class="fill" style="width: 75%"></div></div><span class="small">3 · 75%</span>' in html
    assert "Sky" in html and "°C" in html
    assert "declare-field" not in html


def test_declaring_a_field_through_the_form(login, editor, schema):
    response = login(editor).post(
        _url("declare"),
        {"name": "colors", "type": "enum", "options": "red\ngreen\nblue", "is_multi": "on", "description": "",
         "unit": ""},
    )
    assert response.status_code == 302
    spec = schema_current(workspace=schema.workspace).get("colors")
    assert spec.options == ("red", "green", "blue") and spec.is_multi


def test_a_refused_declaration_shows_why(login, editor, schema):
    response = login(editor).post(_url("declare"), {"name": "weather", "type": "string"})
    assert response.status_code == 400
    assert SCHEMA_FIELD_EXISTS.format(name="weather").replace("'", "&#x27;") in response.content.decode()


def test_dropping_a_field_keeps_values(login, owner, schema):
    login(owner).post(_url("drop"), {"field": "weather"})
    assert schema_current(workspace=schema.workspace).get("weather") is None
    assert schema.workspace.items.filter(client_metadata__weather="Rain").exists()


def test_an_import_is_previewed_then_confirmed(login, owner, schema):
    client = login(owner)
    document = json.dumps(
        [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"], "description": "Sky"},
         {"field_name": "camera", "field_type": "string"}]
    )
    response = client.post(_url("import"), {"document": document})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Added (1)" in html and "camera" in html and "Dropped (1)" in html and "temperature" in html
    assert MetadataSchema.objects.count() == 1
    response = client.post(_url("import"), {"document": document, "confirm": "1", "base_version": "1"})
    assert response.status_code == 302
    assert [s.name for s in schema_current(workspace=schema.workspace)] == ["weather", "camera"]


def test_an_import_can_be_uploaded_as_a_file(login, owner, schema):
    upload = SimpleUploadedFile("schema.json", b'{"fields": [{"name": "lens", "type": "string"}]}')
    response = login(owner).post(_url("import"), {"file": upload})
    assert "Added (1)" in response.content.decode()


def test_a_stale_preview_is_not_applied(login, owner, schema):
    document = json.dumps([{"name": "lens", "type": "string"}])
    response = login(owner).post(_url("import"), {"document": document, "confirm": "1", "base_version": "0"})
    assert response.status_code == 200
    assert MetadataSchema.objects.count() == 1


def test_a_bad_import_lists_its_errors(login, owner, schema):
    response = login(owner).post(_url("import"), {"document": '[{"name": "a", "type": "nope"}]'})
    assert response.status_code == 400
    assert "Field 1 (a): Unknown field type" in response.content.decode()
    response = login(owner).post(_url("import"), {"document": "[{"})
    assert "The schema is not valid JSON" in response.content.decode()


def test_a_type_change_reports_then_converts(login, owner, schema):
    client = login(owner)
    data = {"field": "temperature", "type": "float", "options": "", "description": "", "unit": "°C",
            "base_version": "1"}
    response = client.post(_url("change-field"), data)
    html = response.content.decode()
    assert "2 will be converted" in html
    assert 'data-failed="1">1 does not convert' in html
    assert VALUE_NOT_A_NUMBER in html and "warm" in html
    response = client.post(_url("change-field"), {**data, "confirm": "1"})
    assert response.status_code == 302
    assert schema_current(workspace=schema.workspace).get("temperature").type == "float"
    values = sorted(str(m.get("temperature")) for m in schema.workspace.items.values_list("client_metadata", flat=True))
    assert values == ["21.5", "3.0", "None", "warm"]


def test_changing_an_unknown_field_is_404(login, owner, schema):
    assert login(owner).get(_url("change-field") + "?field=nope").status_code == 404


def test_every_version_is_viewable(login, owner, schema):
    login(owner).post(_url("declare"), {"name": "lens", "type": "string"}, follow=True)
    html = login(owner).get(_url("version", 1)).content.decode()
    assert "weather" in html and "lens" not in html
    assert "lens" in login(owner).get(_url("version", 2)).content.decode()
    assert login(owner).get(_url("version", 9)).status_code == 404


def test_changing_a_field_away_from_enum_clears_its_options(login, owner, schema):
    client = login(owner)
    data = {"field": "weather", "type": "string", "options": "Sunny\nRain", "is_multi": "on", "description": "Sky",
            "unit": "", "base_version": "1"}
    response = client.post(_url("change-field"), data)
    assert response.status_code == 200 and 'id="change-preview"' in response.content.decode()
    response = client.post(_url("change-field"), {**data, "confirm": "1"})
    assert response.status_code == 302
    spec = schema_current(workspace=schema.workspace).get("weather")
    assert (spec.type, spec.options, spec.is_multi) == ("string", (), False)


def test_the_field_forms_mark_enum_only_rows_for_the_script(login, owner, schema):
    html = login(owner).get(_url("schema")).content.decode()
    assert html.count("data-enum-only") == 2 and "js/schema.js" in html


def test_anyone_who_reads_the_schema_downloads_it_and_strangers_get_404(login, owner, viewer, stranger, schema):
    response = login(viewer).get(_url("download"))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="acme-schema-v1.json"'
    assert json.loads(response.content) == {"fields": [
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"], "is_multi": False, "description": "Sky",
         "unit": ""},
        {"name": "temperature", "type": "string", "options": [], "is_multi": False, "description": "", "unit": "°C"},
    ]}
    assert login(stranger).get(_url("download")).status_code == 404
    assert 'id="download-schema"' in login(owner).get(_url("schema")).content.decode()


def test_a_downloaded_schema_uploaded_again_changes_nothing(login, owner, schema):
    client = login(owner)
    upload = SimpleUploadedFile("schema.json", client.get(_url("download")).content)
    response = client.post(_url("import"), {"file": upload})
    assert "No difference with the current schema." in response.content.decode()
    document = client.get(_url("download")).content.decode()
    client.post(_url("import"), {"document": document, "confirm": "1", "base_version": "1"})
    assert MetadataSchema.objects.count() == 1


def test_the_import_form_keeps_descriptions_only_when_asked(login, owner, schema):
    client = login(owner)
    document = json.dumps([{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
                           {"name": "temperature", "type": "string", "unit": "°C"}])
    html = client.post(_url("import"), {"document": document}).content.decode()
    assert "Changed (1)" in html and "description" in html
    html = client.post(_url("import"), {"document": document, "keep_descriptions": "on"}).content.decode()
    assert "No difference with the current schema." in html
    document = json.dumps([{"name": "weather", "type": "enum", "options": ["Sunny", "Rain", "Fog"]},
                           {"name": "temperature", "type": "string", "unit": "°C"}])
    html = client.post(_url("import"), {"document": document, "keep_descriptions": "on"}).content.decode()
    assert '<input type="hidden" name="keep_descriptions" value="on">' in html
    client.post(_url("import"), {"document": document, "keep_descriptions": "on", "confirm": "1", "base_version": "1"})
    spec = schema_current(workspace=schema.workspace).get("weather")
    assert (spec.options, spec.description) == (("Sunny", "Rain", "Fog"), "Sky")


def test_an_import_with_an_unknown_key_is_refused_with_its_name(login, owner, schema):
    document = json.dumps([{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"], "multi": True}])
    response = login(owner).post(_url("import"), {"document": document})
    assert response.status_code == 400
    assert "Field 1 (weather): Unknown key &#x27;multi&#x27; (did you mean &#x27;is_multi&#x27;?)" in response.content.decode()


def test_the_page_lists_embedding_fields_apart_and_an_editor_can_drop_one(login, owner, viewer, workspace):
    make_schema(workspace, [{"name": "weather", "type": "string"},
                            {"name": "clip", "type": "embedding", "dimension": 512, "distance": "cosine"}])
    resp = login(viewer).get(_url("schema"))
    html = resp.content.decode()
    assert 'id="schema-embeddings"' in html and "512-d, cosine distance" in html
    assert 'data-field="clip"' not in html.split('id="schema-embeddings"')[0]
    login(owner).post(_url("drop"), {"field": "clip"})
    current = schema_current(workspace=workspace)
    assert current.embeddings == {} and current.get("weather") is not None
