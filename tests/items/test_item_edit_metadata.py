import json

import pytest
from django.urls import reverse

from metadata_site.items.models import ChangeSet, ItemKind
from metadata_site.schemas.validation import VALUE_NOT_A_LINK, VALUE_NOT_A_NUMBER
from tests.factories import make_folder, make_item, make_schema

FIELDS = [
    {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
    {"name": "temperature", "type": "float", "unit": "°C"},
    {"name": "captured_at", "type": "datetime"},
    {"name": "colors", "type": "enum", "options": ["red", "green", "blue"], "is_multi": True},
    {"name": "dark", "type": "boolean"},
    {"name": "source", "type": "link"},
    {"name": "count", "type": "integer"},
]


@pytest.fixture
def item(workspace):
    make_schema(workspace, FIELDS)
    folder = make_folder(workspace, "fleet")
    return make_item(
        folder,
        "img.jpg",
        metadata={"weather": "Sunny", "temperature": 21.5, "captured_at": "2024-05-01T12:30:00Z",
                  "colors": ["red", "blue"], "source": "https://example.com/a", "camera": "c1"},
    )


def _edit_url(item):
    return reverse("items:edit-metadata", args=["acme", item.uid])


def _json_url(item):
    return reverse("items:edit-metadata-json", args=["acme", item.uid])


def _form_data(**overrides):
    """What the generated form posts when nothing is edited (field order as in FIELDS)."""
    data = {"f0": "Sunny", "f1": "21.5", "f2": "2024-05-01T12:30:00", "tz2": "Z", "f3": ["red", "blue"],
            "f5": "https://example.com/a", "f6": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_item_page_shows_typed_values_and_undeclared_keys_apart(login, owner, item):
    html = login(owner).get(reverse("items:item", args=["acme", item.uid])).content.decode()
    assert '<time data-local datetime="2024-05-01T12:30:00Z">' in html
    assert '<a href="https://example.com/a" rel="noopener noreferrer nofollow"' in html
    assert '<span class="chip">red</span><span class="chip">blue</span>' in html
    assert "21.5 <span class=\"muted\">°C</span>" in html
    assert 'id="undeclared-keys"' in html and "camera" in html


def test_the_edit_form_is_generated_from_the_schema(login, owner, item):
    html = login(owner).get(reverse("items:item", args=["acme", item.uid])).content.decode()
    assert '<select name="f0"' in html
    assert '<input type="checkbox" name="f3" value="red"' in html  # a multi enum: one checkbox per option
    assert 'type="datetime-local"' in html
    assert 'type="checkbox" name="f4"' in html
    assert 'type="number" name="f1"' in html


def test_viewers_see_no_edit_form_and_cannot_post(login, viewer, item):
    html = login(viewer).get(reverse("items:item", args=["acme", item.uid])).content.decode()
    assert "fields-form" not in html
    assert login(viewer).post(_edit_url(item), _form_data(f0="Rain")).status_code == 403
    assert login(viewer).post(_json_url(item), {"metadata": "{}", "mode": "merge"}).status_code == 403


def test_strangers_get_404(login, stranger, item):
    assert login(stranger).post(_edit_url(item), _form_data()).status_code == 404
    assert login(stranger).post(_json_url(item), {"metadata": "{}", "mode": "merge"}).status_code == 404


def test_saving_the_form_merges_only_the_fields_that_changed(login, editor, item):
    response = login(editor).post(_edit_url(item), _form_data(f0="Rain", f1="", f6="7", f4="on"))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.client_metadata == {
        "weather": "Rain", "captured_at": "2024-05-01T12:30:00Z", "colors": ["red", "blue"],
        "source": "https://example.com/a", "camera": "c1", "count": 7, "dark": True,
    }
    change_set = ChangeSet.objects.get()
    assert (change_set.operation, change_set.source, change_set.user) == ("edit", "ui", editor)


def test_a_datetime_is_read_in_the_viewers_offset_and_stored_in_utc(login, editor, item):
    login(editor).post(_edit_url(item), _form_data(f2="2024-06-01T08:00", tz2="+02:00"))
    item.refresh_from_db()
    assert item.client_metadata["captured_at"] == "2024-06-01T06:00:00Z"


def test_an_unchanged_form_writes_nothing(login, editor, item):
    login(editor).post(_edit_url(item), _form_data(tz2="+02:00", f2="2024-05-01T14:30:00"))
    assert not ChangeSet.objects.exists()


def test_a_type_error_is_shown_inline_and_nothing_is_saved(login, editor, item):
    response = login(editor).post(_edit_url(item), _form_data(f0="Rain", f5="not a link", f1="warm"))
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<div class="error field-error">{VALUE_NOT_A_LINK}</div>' in html
    assert f'<div class="error field-error">{VALUE_NOT_A_NUMBER}</div>' in html
    item.refresh_from_db()
    assert item.client_metadata["weather"] == "Sunny"


def test_htmx_gets_only_the_metadata_fragment(login, editor, item):
    client = login(editor)
    response = client.post(_edit_url(item), _form_data(f0="Rain"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="item-metadata"' in html and "Metadata saved." in html
    response = client.post(_edit_url(item), _form_data(f5="nope"), headers={"HX-Request": "true"})
    assert "<html" not in response.content.decode() and VALUE_NOT_A_LINK in response.content.decode()


def test_the_json_editor_merges_or_overwrites(login, editor, item):
    client = login(editor)
    client.post(_json_url(item), {"metadata": json.dumps({"camera": None, "lens": "wide"}), "mode": "merge"})
    item.refresh_from_db()
    assert "camera" not in item.client_metadata and item.client_metadata["lens"] == "wide"
    client.post(_json_url(item), {"metadata": json.dumps({"weather": "Rain"}), "mode": "overwrite"})
    item.refresh_from_db()
    assert item.client_metadata == {"weather": "Rain"}


def test_the_json_editor_reports_bad_json_and_bad_values(login, editor, item):
    client = login(editor)
    response = client.post(_json_url(item), {"metadata": "{\"a\": ", "mode": "merge"})
    assert response.status_code == 400 and "Invalid JSON at line 1, column " in response.content.decode()
    response = client.post(_json_url(item), {"metadata": json.dumps({"temperature": "hot"}), "mode": "merge"})
    assert f"temperature: {VALUE_NOT_A_NUMBER}" in response.content.decode()
    item.refresh_from_db()
    assert item.client_metadata["temperature"] == 21.5


def test_a_stored_value_that_no_longer_fits_is_kept_when_other_fields_are_saved(login, editor, item):
    item.client_metadata = {**item.client_metadata, "temperature": "warm"}
    item.save()
    response = login(editor).get(reverse("items:item", args=["acme", item.uid]))
    assert VALUE_NOT_A_NUMBER in response.content.decode()
    login(editor).post(_edit_url(item), _form_data(f1="warm", f0="Rain"))
    item.refresh_from_db()
    assert item.client_metadata["temperature"] == "warm" and item.client_metadata["weather"] == "Rain"


def test_an_image_group_lists_its_frames_with_their_metadata(login, owner, workspace, item):
    group = make_item(item.folder, "group", kind=ItemKind.IMAGE_GROUP)
    make_item(item.folder, "frame-0", kind=ItemKind.FRAME, parent=group, frame_index=0,
              metadata={"weather": "Rain", "lane": 2})
    html = login(owner).get(reverse("items:item", args=["acme", group.uid])).content.decode()
    assert 'id="frames"' in html and "frame-0" in html
    assert '<span class="chip">Rain</span>' in html and "<code>2</code>" in html


def test_a_video_shows_its_keyframes(login, owner, item):
    video = make_item(item.folder, "clip.mp4", kind=ItemKind.VIDEO, metadata={"keyframes": [0, 25, 50]})
    html = login(owner).get(reverse("items:item", args=["acme", video.uid])).content.decode()
    assert '<span class="chip">frame 25</span>' in html


@pytest.mark.parametrize(("metadata", "message"), [
    ('{"captured_at": "9999-12-31T23:00:00-23:59"}', "captured_at: The date and time is out of range"),
    # The strict JSON parser refuses them first, naming the path to the string.
    ('{"camera": "x\\ud800"}', "A string at $.camera contains the lone surrogate \\ud800"),
    ('{"notes": {"a": ["\\udfff"]}}', "A string at $.notes.a[0] contains the lone surrogate \\udfff"),
])
def test_the_json_editor_refuses_values_the_database_could_not_store_naming_the_field(login, editor, item,
                                                                                     metadata, message):
    before = dict(item.client_metadata)
    response = login(editor).post(_json_url(item), {"metadata": metadata, "mode": "merge"})
    assert 400 <= response.status_code < 500
    assert message in response.content.decode()
    item.refresh_from_db()
    assert item.client_metadata == before


def test_the_form_refuses_a_datetime_out_of_range_naming_the_field(login, editor, item):
    response = login(editor).post(_edit_url(item), _form_data(f2="9999-12-31T23:00:00", tz2="-23:59"))
    assert 400 <= response.status_code < 500
    assert "The date and time is out of range" in response.content.decode()
    item.refresh_from_db()
    assert item.client_metadata["captured_at"] == "2024-05-01T12:30:00Z"


def test_a_date_without_a_time_is_stored_as_midnight_utc_from_the_form(login, editor, item):
    login(editor).post(_edit_url(item), _form_data(f2="2024-02-24", tz2="+02:00"))
    item.refresh_from_db()
    assert item.client_metadata["captured_at"] == "2024-02-24T00:00:00Z"


def test_a_date_without_a_time_is_stored_as_midnight_utc_from_the_json_editor(login, editor, item):
    response = login(editor).post(_json_url(item), {"metadata": json.dumps({"captured_at": "2024-02-24"}),
                                                    "mode": "merge"})
    assert response.status_code in (200, 302)
    item.refresh_from_db()
    assert item.client_metadata["captured_at"] == "2024-02-24T00:00:00Z"
    response = login(editor).post(_json_url(item), {"metadata": json.dumps({"captured_at": "2024-02-30"}),
                                                    "mode": "merge"})
    assert response.status_code == 400 and "or a date such as 2024-05-01" in response.content.decode()
    item.refresh_from_db()
    assert item.client_metadata["captured_at"] == "2024-02-24T00:00:00Z"
