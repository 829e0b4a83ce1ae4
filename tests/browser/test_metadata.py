import pytest

from metadata_site.items.models import Item
from metadata_site.schemas.selectors import schema_current
from metadata_site.schemas.validation import VALUE_NOT_A_LINK
from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_item, make_schema, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A viewer away from UTC, so the datetime inputs must convert.
    return {**browser_context_args, "timezone_id": "Europe/Paris"}


@pytest.fixture
def alice():
    user = make_user("alice")
    make_workspace("acme", members={user: Role.EDITOR})
    return user


@pytest.fixture
def workspace(alice):
    return alice.memberships.get().workspace


def _md(item: Item) -> dict:
    item.refresh_from_db()
    return item.client_metadata


def test_declare_an_enum_field(live_server, browser_login, alice, workspace):
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/schema/")
    page.fill("#id_name", "weather")
    page.select_option("#id_type", "enum")
    page.fill("#id_options", "Sunny\nRain\nFog")
    page.fill("#id_description", "Sky at capture time")
    page.click("#declare-field button[type=submit]")
    page.wait_for_selector("tr[data-field=weather]")
    row = page.inner_text("tr[data-field=weather]")
    assert "Sunny" in row and "Fog" in row and "Sky at capture time" in row
    spec = schema_current(workspace=workspace).get("weather")
    assert spec.options == ("Sunny", "Rain", "Fog")


def test_edit_an_item_through_the_generated_form_and_see_a_type_error_inline(
    live_server, browser_login, alice, workspace
):
    make_schema(
        workspace,
        [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
         {"name": "source", "type": "link"},
         {"name": "dark", "type": "boolean"}],
    )
    item = make_item(make_folder(workspace, "fleet"), "img.jpg", metadata={"weather": "Sunny", "camera": "c1"})
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/items/{item.uid}/")
    page.click("text=Edit fields")
    page.select_option("select[data-field=weather]", "Rain")
    page.check("input[data-field=dark]")
    page.click("#fields-form button[type=submit]")
    page.wait_for_selector("#item-metadata >> text=Metadata saved.")
    assert page.inner_text("dd[data-key=weather]") == "Rain"
    assert _md(item) == {"weather": "Rain", "camera": "c1", "dark": True}

    page.click("text=Edit fields")
    page.fill("input[data-field=source]", "not a link")
    page.select_option("select[data-field=weather]", "Sunny")
    page.click("#fields-form button[type=submit]")
    page.wait_for_selector(".form-row.has-error .field-error")
    assert page.inner_text(".form-row[data-key=source] .field-error") == VALUE_NOT_A_LINK
    assert _md(item)["weather"] == "Rain"


def test_bulk_set_a_field_on_selected_items_with_preview_then_undo(live_server, browser_login, alice, workspace):
    make_schema(workspace, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    folder = make_folder(workspace, "fleet")
    items = [make_item(folder, f"img_{n}.jpg", metadata={"weather": "Sunny"}) for n in range(4)]
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/folders/{folder.pk}/")
    for item in items[:3]:
        page.check(f"input.pick[value='{item.uid}']")
    page.select_option("#id_bulk_field", "weather")
    page.select_option("#id_bulk_value", "Rain")
    page.click("#bulk-edit-form button[type=submit]")
    page.wait_for_selector("#bulk-preview")
    assert page.inner_text("[data-count=changing]") == "3"
    assert [_md(i)["weather"] for i in items] == ["Sunny"] * 4
    page.click("text=Apply to 3 items")
    page.wait_for_selector("#change-status")
    assert "3 items changed" in page.inner_text(".messages")
    assert [_md(i)["weather"] for i in items] == ["Rain", "Rain", "Rain", "Sunny"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#change-status button:has-text('Undo')")
    page.wait_for_selector("text=Undone: 3 items restored")
    assert [_md(i)["weather"] for i in items] == ["Sunny"] * 4


def test_a_datetime_is_edited_in_the_viewers_time_zone_and_stored_in_utc(
    live_server, browser_login, alice, workspace
):
    make_schema(workspace, [{"name": "captured_at", "type": "datetime"}])
    item = make_item(make_folder(workspace), metadata={"captured_at": "2024-05-01T12:30:00Z"})
    page = browser_login(alice)
    page.goto(f"{live_server.url}/w/acme/items/{item.uid}/")
    assert page.get_attribute("dd[data-key=captured_at] time", "title") == "2024-05-01T12:30:00Z"
    page.click("text=Edit fields")
    field = page.locator("input[data-field=captured_at]")
    assert field.input_value().startswith("2024-05-01T14:30")
    assert page.inner_text(".form-row[data-key=captured_at] [data-tz-label]") == "Europe/Paris"
    field.fill("2024-05-01T15:00:00")
    page.click("#fields-form button[type=submit]")
    page.wait_for_selector("text=Metadata saved.")
    assert _md(item) == {"captured_at": "2024-05-01T13:00:00Z"}
