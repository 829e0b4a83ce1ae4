import pytest
from django.urls import reverse

from metadata_site.items.forms import BULK_NO_ITEMS, BULK_VALUE_REQUIRED
from metadata_site.items.models import ChangeSet, ItemKind
from metadata_site.items.services import item_metadata_bulk_apply, item_metadata_bulk_preview
from metadata_site.schemas.validation import VALUE_NOT_AN_OPTION
from tests.factories import make_folder, make_item, make_schema

URL = reverse("items:bulk-edit", args=["acme"])


@pytest.fixture
def items(workspace):
    make_schema(
        workspace,
        [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
         {"name": "colors", "type": "enum", "options": ["red", "blue"], "is_multi": True}],
    )
    folder = make_folder(workspace, "fleet")
    return [
        make_item(folder, "a.jpg", metadata={"weather": "Sunny"}),
        make_item(folder, "b.jpg", metadata={"weather": "Rain"}),
        make_item(folder, "c.jpg"),
    ]


def _md(item):
    item.refresh_from_db()
    return item.client_metadata


def test_the_preview_counts_what_would_change_and_changes_nothing(workspace, items):
    preview = item_metadata_bulk_preview(
        workspace=workspace, items=workspace.items.all(), key="weather", value="Rain"
    )
    assert (preview.selected, preview.changing, preview.unchanged) == (3, 2, 1)
    assert [(r["title"], r["before"], r["after"]) for r in preview.sample] == [
        ("a.jpg", "Sunny", "Rain"), ("c.jpg", None, "Rain")
    ]
    assert _md(items[0]) == {"weather": "Sunny"}


def test_apply_writes_one_change_set_for_the_items_that_change(workspace, owner, items):
    result = item_metadata_bulk_apply(
        workspace=workspace, user=owner, items=workspace.items.all(), key="weather", value="Rain"
    )
    assert (result.changed, result.unchanged, result.failed) == (2, 1, 0)
    assert result.change_set.item_count == 2 and result.change_set.operation == "bulk_set"
    assert result.change_set.description == 'Set weather = "Rain" on 2 items'
    assert [_md(i) for i in items] == [{"weather": "Rain"}] * 3


def test_remove_drops_the_key(workspace, owner, items):
    result = item_metadata_bulk_apply(
        workspace=workspace, user=owner, items=workspace.items.all(), key="weather", remove=True
    )
    assert result.changed == 2 and result.change_set.operation == "bulk_remove"
    assert [_md(i) for i in items] == [{}, {}, {}]


def test_viewers_get_403_and_strangers_404(login, viewer, stranger, items):
    data = {"field": "weather", "action": "set", "value": "Rain", "item": [str(items[0].uid)]}
    assert login(viewer).post(URL, data).status_code == 403
    assert login(stranger).post(URL, data).status_code == 404


def test_the_page_previews_then_applies_and_redirects_to_the_change_set(login, editor, items):
    client = login(editor)
    data = {"field": "weather", "action": "set", "value": "Rain", "item": [str(items[0].uid), str(items[1].uid)]}
    response = client.post(URL, data)
    html = response.content.decode()
    assert '<strong data-count="changing">1</strong> of 2 selected items will change' in html
    assert "Apply to 1 item" in html
    assert _md(items[0]) == {"weather": "Sunny"}
    response = client.post(URL, {**data, "apply": "1"})
    change_set = ChangeSet.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("items:change-set", args=["acme", change_set.pk])
    assert _md(items[0]) == {"weather": "Rain"}
    assert _md(items[2]) == {}


def test_all_items_of_a_folder_can_be_selected(login, editor, items):
    frame_parent = make_item(items[0].folder, "group", kind=ItemKind.IMAGE_GROUP)
    frame = make_item(items[0].folder, "f0", kind=ItemKind.FRAME, parent=frame_parent, frame_index=0)
    data = {"field": "colors", "action": "set", "value": "red, blue", "folder": str(items[0].folder_id), "apply": "1"}
    login(editor).post(URL, data)
    assert _md(items[2])["colors"] == ["red", "blue"]
    assert _md(frame) == {}


def test_a_bad_value_or_no_selection_changes_nothing(login, editor, items):
    client = login(editor)
    response = client.post(URL, {"field": "weather", "action": "set", "value": "Snow", "item": [str(items[0].uid)]})
    assert response.status_code == 400
    assert VALUE_NOT_AN_OPTION.format(options="Sunny, Rain") in response.content.decode()
    response = client.post(URL, {"field": "weather", "action": "set", "value": "", "item": [str(items[0].uid)]})
    assert BULK_VALUE_REQUIRED in response.content.decode()
    response = client.post(URL, {"field": "weather", "action": "set", "value": "Rain", "apply": "1"})
    assert BULK_NO_ITEMS in response.content.decode()
    assert not ChangeSet.objects.exists()


def test_items_of_another_workspace_cannot_be_selected(login, editor, stranger, items):
    other_folder = make_folder(stranger.memberships.get().workspace)
    other = make_item(other_folder, metadata={"weather": "Sunny"})
    login(editor).post(URL, {"field": "weather", "action": "set", "value": "Rain", "item": [str(other.uid)],
                             "apply": "1"})
    assert _md(other) == {"weather": "Sunny"}
    response = login(editor).post(
        URL, {"field": "weather", "action": "set", "value": "Rain", "folder": str(other_folder.pk)}
    )
    assert response.status_code == 404


def test_the_folder_page_offers_bulk_edit_to_editors_only(login, editor, viewer, items):
    url = reverse("projects:folder", args=["acme", items[0].folder_id])
    html = login(editor).get(url).content.decode()
    assert 'id="bulk-edit-form"' in html and 'form="bulk-edit-form"' in html
    assert "all 3 items in this folder" in html
    html = login(viewer).get(url).content.decode()
    assert "bulk-edit-form" not in html


def test_an_explorer_filter_selection_asks_for_a_field_then_previews_and_applies_to_what_matches(login, editor, items):
    client = login(editor)
    selection = {"selection": "filter", "f": "weather:in:Sunny,Rain"}
    response = client.post(URL, selection)  # what the explorer's selection page posts
    html = response.content.decode()
    assert response.status_code == 200
    assert '<p id="bulk-selected"><strong>2</strong> items selected in the explorer.</p>' in html
    assert '<input type="hidden" name="f" value="weather:in:Sunny,Rain">' in html
    assert not ChangeSet.objects.exists()
    data = {**selection, "field": "colors", "action": "set", "value": "red"}
    response = client.post(URL, data)
    assert '<strong data-count="changing">2</strong> of 2 selected items will change' in response.content.decode()
    client.post(URL, {**data, "apply": "1"})
    assert [_md(i).get("colors") for i in items] == [["red"], ["red"], None]


def test_an_explorer_selection_of_ticked_items_is_edited_by_their_ids(login, editor, items):
    client = login(editor)
    selection = {"selection": "ids", "item": [str(items[2].uid)]}
    assert '<strong>1</strong> item selected' in client.post(URL, selection).content.decode()
    client.post(URL, {**selection, "field": "weather", "action": "set", "value": "Rain", "apply": "1"})
    assert [_md(i).get("weather") for i in items] == ["Sunny", "Rain", "Rain"]


def test_a_bad_explorer_filter_is_a_400_that_changes_nothing(login, editor, viewer, items):
    client = login(editor)
    data = {"selection": "filter", "f": "weather:eq:Snow", "field": "weather", "action": "set", "value": "Rain", "apply": "1"}
    response = client.post(URL, data)
    assert response.status_code == 400 and "Snow" in response.content.decode()
    assert client.post(URL, {"selection": "filter", "f": "nope:gt:warm"}).status_code == 400
    assert login(viewer).post(URL, {"selection": "filter", "f": "weather:eq:Rain"}).status_code == 403
    assert not ChangeSet.objects.exists()


@pytest.fixture
def typed(workspace, items):
    make_schema(
        workspace,
        [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
         {"name": "colors", "type": "enum", "options": ["red", "blue"], "is_multi": True},
         {"name": "dark", "type": "boolean"},
         {"name": "captured_at", "type": "datetime"},
         {"name": "temperature", "type": "float"}],
    )
    return items


def test_the_form_offers_each_fields_own_input(login, editor, typed):
    html = login(editor).get(reverse("projects:folder", args=["acme", typed[0].folder_id])).content.decode()
    assert '<template data-bulk-value-for="weather"><select name="value" data-field="weather"' in html
    assert '<template data-bulk-value-for="colors"><div id="id_bulk_value">' in html
    assert '<input type="checkbox" name="value" value="blue"' in html
    assert ('<template data-bulk-value-for="dark"><input type="hidden" name="value" value="false">'
            '<label class="switch plain"><input type="checkbox" name="value" data-field="dark"') in html
    assert 'role="switch"' in html
    assert 'type="datetime-local" name="value"' in html and 'name="tz"' in html
    assert 'type="number" name="value" data-field="temperature"' in html
    assert '<template data-bulk-value-for=""><input type="text" name="value"' in html
    assert 'js/bulk_edit.js' in html


def test_the_switch_and_the_picker_values_are_typed(login, editor, typed):
    client = login(editor)
    uid = str(typed[2].uid)
    client.post(URL, {"field": "dark", "action": "set", "value": ["false", "true"], "item": [uid], "apply": "1"})
    assert _md(typed[2]) == {"dark": True}
    client.post(URL, {"field": "dark", "action": "set", "value": ["false"], "item": [uid], "apply": "1"})
    assert _md(typed[2]) == {"dark": False}
    client.post(URL, {"field": "captured_at", "action": "set", "value": "2024-05-01T14:30", "tz": "+02:00",
                      "item": [uid], "apply": "1"})
    assert _md(typed[2])["captured_at"] == "2024-05-01T12:30:00Z"
    client.post(URL, {"field": "colors", "action": "set", "value": ["red", "blue"], "item": [uid], "apply": "1"})
    assert _md(typed[2])["colors"] == ["red", "blue"]
    client.post(URL, {"field": "temperature", "action": "set", "value": "21.5", "item": [uid], "apply": "1"})
    assert _md(typed[2])["temperature"] == 21.5


def test_an_error_keeps_the_form_with_the_message_beside_the_input_and_the_selection(login, editor, typed):
    folder_url = reverse("projects:folder", args=["acme", typed[0].folder_id])
    data = {"field": "temperature", "action": "set", "value": "warm", "item": [str(typed[0].uid)],
            "next": folder_url}
    response = login(editor).post(URL, data)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="bulk-edit-form"' in html
    assert '<input type="number" name="value" value="warm" data-field="temperature"' in html
    assert 'id="bulk-value-error" role="alert">' in html
    beside = html[html.index('id="bulk-value"'):html.index('id="bulk-value-error"')]
    assert 'name="value"' in beside
    assert f'<input type="hidden" name="item" value="{typed[0].uid}">' in html
    assert f'<a href="{folder_url}" id="bulk-cancel">Cancel</a>' in html
    assert not ChangeSet.objects.exists()


def test_the_preview_shows_json_values_and_offers_cancel(login, editor, typed):
    folder_url = reverse("projects:folder", args=["acme", typed[0].folder_id])
    data = {"field": "dark", "action": "set", "value": ["false", "true"], "item": [str(typed[0].uid)],
            "next": folder_url}
    html = login(editor).post(URL, data).content.decode()
    assert "set <strong>dark</strong> = <code>true</code>" in html
    assert "True" not in html
    assert f'<a class="button" href="{folder_url}" id="bulk-cancel">Cancel</a>' in html


def test_cancel_never_leads_outside_the_workspace(login, editor, typed):
    home = reverse("workspaces:home", args=["acme"])
    for bad in ("https://evil.example/w/acme/", "//evil.example/w/acme/", "/w/elsewhere/", "/w/acme/\\evil"):
        data = {"field": "dark", "action": "set", "value": "true", "item": [str(typed[0].uid)], "next": bad}
        html = login(editor).post(URL, data).content.decode()
        assert f'href="{home}" id="bulk-cancel"' in html, bad
    data = {"selection": "filter", "f": "weather:in:Rain", "field": "dark", "action": "set", "value": "true"}
    html = login(editor).post(URL, data).content.decode()
    assert 'href="/w/acme/explore/?f=weather%3Ain%3ARain" id="bulk-cancel"' in html
