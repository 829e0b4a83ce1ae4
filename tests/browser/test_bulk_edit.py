"""Bulk edit and undo in real Chromium: the value input follows the field, an error keeps the form, the
preview has Cancel, and an undo that restores nothing says so and stays available."""

import pytest

from metadata_site.items.models import ChangeSet, Item
from metadata_site.items.services import item_metadata_write
from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_item, make_schema, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alice():
    user = make_user("alice")
    make_workspace("acme", members={user: Role.EDITOR})
    return user


@pytest.fixture
def folder(alice):
    workspace = alice.memberships.get().workspace
    make_schema(
        workspace,
        [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
         {"name": "colors", "type": "enum", "options": ["red", "blue", "green"], "is_multi": True},
         {"name": "dark", "type": "boolean"},
         {"name": "captured_at", "type": "datetime"}],
    )
    return make_folder(workspace, "fleet")


def _md(item: Item) -> dict:
    item.refresh_from_db()
    return item.client_metadata


def test_bulk_edit_uses_each_fields_own_input_keeps_the_form_on_error_and_cancels(
    live_server, browser_login, alice, folder
):
    items = [make_item(folder, f"img_{n}.jpg", metadata={"weather": "Sunny"}) for n in range(3)]
    page = browser_login(alice)
    folder_url = f"{live_server.url}/w/acme/folders/{folder.pk}/"
    page.goto(folder_url)
    for item in items[:2]:
        page.check(f"input.pick[value='{item.uid}']")

    page.select_option("#id_bulk_field", "colors")  # multi enum: checkboxes
    assert page.locator("#bulk-value input[type=checkbox][name=value]").count() == 3
    page.select_option("#id_bulk_field", "dark")  # boolean: a switch
    assert page.get_attribute("#id_bulk_value", "role") == "switch"
    page.select_option("#id_bulk_field", "captured_at")  # datetime: a picker
    assert page.get_attribute("#id_bulk_value", "type") == "datetime-local"
    page.select_option("#id_bulk_field", "weather")  # enum: a drop-down
    assert page.eval_on_selector("#id_bulk_value", "el => el.tagName") == "SELECT"

    page.click("#bulk-edit-form button[type=submit]")  # no value chosen
    page.wait_for_selector("#bulk-value-error")
    assert "Give a value to set" in page.inner_text("#bulk-value")  # beside the input, on the form
    assert page.input_value("#id_bulk_field") == "weather"
    page.select_option("#id_bulk_value", "Rain")
    page.click("#bulk-edit-form button[type=submit]")
    page.wait_for_selector("#bulk-preview")
    assert page.inner_text("[data-count=changing]") == "2"
    assert '"Rain"' in page.inner_text("#bulk-preview h2")
    page.click("#bulk-cancel")
    page.wait_for_url(folder_url)
    assert [_md(i) for i in items] == [{"weather": "Sunny"}] * 3
    assert not ChangeSet.objects.exists()

    page.check(f"input.pick[value='{items[0].uid}']")
    page.select_option("#id_bulk_field", "colors")
    page.check("#bulk-value input[value=red]")
    page.check("#bulk-value input[value=green]")
    page.click("#bulk-edit-form button[type=submit]")
    page.wait_for_selector("#bulk-preview")
    assert '["red", "green"]' in page.inner_text("#bulk-preview")
    page.click("text=Apply to 1 item")
    page.wait_for_selector("#change-status")
    assert _md(items[0]) == {"weather": "Sunny", "colors": ["red", "green"]}
    assert '"red"' in page.inner_text("#change-entries")


def test_an_undo_that_restores_nothing_says_why_and_keeps_undo(live_server, browser_login, alice, folder):
    workspace = folder.workspace
    items = [make_item(folder, f"img_{n}.jpg", metadata={"weather": "Sunny"}) for n in range(2)]
    first = item_metadata_write(workspace=workspace, user=alice, updates={i.pk: {"weather": "Rain"} for i in items},
                                mode="merge")
    newer = item_metadata_write(workspace=workspace, user=alice, updates={items[0].pk: {"weather": "Sunny", "dark": True},
                                items[1].pk: {"dark": True}}, mode="merge")
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/changes/{first.change_set.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#change-status button:has-text('Undo')")
    page.wait_for_selector(".messages")
    text = page.inner_text(".messages")
    assert "Nothing was undone" in text and "Undone:" not in text
    assert f"img_0.jpg (changed by change {newer.change_set.pk})" in text
    assert page.locator("#change-status button:has-text('Undo')").count() == 1

    page.goto(f"{live_server.url}/w/acme/changes/{newer.change_set.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#change-status button:has-text('Undo')")
    page.wait_for_selector("text=Undone: 2 items restored")
    page.goto(f"{live_server.url}/w/acme/changes/{first.change_set.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#change-status button:has-text('Undo')")
    page.wait_for_selector("text=Undone: 2 items restored")
    assert page.locator("#change-status button:has-text('Undo')").count() == 0
    assert [_md(i) for i in items] == [{"weather": "Sunny"}] * 2
