"""From the explorer's filtered selection to a collection, and from the collection to a dataset in a new project."""

import pytest
from playwright.sync_api import expect

from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_image_group, make_item, make_schema, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def corpus():
    user = make_user("alice")
    ws = make_workspace("acme", members={user: Role.EDITOR})
    make_schema(ws, [{"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]}])
    day, night = make_folder(ws, "day"), make_folder(ws, "night")
    sunny = [make_item(day, f"sunny_{i}.jpg", metadata={"weather": "Sunny"}) for i in range(2)]
    # The group carries the metadata; its 3 frames carry none, so the filter matches the group only.
    group = make_image_group(day, "sunny_burst", frames=3, metadata={"weather": "Sunny"})
    dark = [make_item(night, f"dark_{i}.jpg", metadata={"weather": "Rain"}) for i in range(2)]
    return {"user": user, "day": day, "night": night, "sunny": sunny, "group": group, "dark": dark}


def test_filter_select_all_save_a_collection_and_build_a_dataset_from_it(live_server, browser_login, corpus):
    page = browser_login(corpus["user"])
    base = f"{live_server.url}/w/acme"

    # Filter in the explorer, then select all matching.
    page.goto(f"{base}/explore/")
    page.check("input[name='in.weather'][value=Sunny]")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('weather in Sunny')")
    page.click("#select-all")
    expect(page.locator("#selected-count")).to_contain_text("All 3 matching items selected")
    page.click("#selection button[type=submit]")
    expect(page.locator("#selection-total")).to_have_text("3 items selected.")

    # "Add to a collection" opens the dialog; create a new frozen collection.
    page.click("button:has-text('Add to a collection')")
    dialog = page.locator("#add-to-collection")
    expect(dialog.locator("#add-summary")).to_have_text("Adds 3 items: every item matching weather is Sunny (see them).")
    dialog.locator("#id_title").fill("Sunny picks")
    dialog.locator("#id_description").fill("Daylight only")
    dialog.locator("input[name=kind][value=frozen]").check()
    dialog.locator("button[type=submit]").click()

    # It lands on the collections page, with the new collection and its item count.
    page.wait_for_url(f"{base}/collections/")
    row = page.locator("tr.collection-row", has_text="Sunny picks")
    expect(row.locator(".item-count")).to_have_text("3")
    expect(row).to_contain_text("Frozen")
    expect(row.locator(".strip img")).to_have_count(3)

    # Select it, create a dataset in a new project, splitting image groups.
    row.locator("input[name=collections]").check()
    page.click("#create-dataset")
    page.wait_for_selector("#dataset-create")
    page.fill("#id_title", "train")
    page.fill("#id_new_project_name", "Road scenes")
    page.check("#id_split_image_groups")
    page.click("#dataset-create button[type=submit]")

    # The dataset: the 2 images + the 3 frames of the group.
    page.wait_for_selector("h1:has-text('train')")
    expect(page.locator(".thumbs .thumb")).to_have_count(5)
    expect(page.locator(".thumbs .thumb:has-text('sunny_burst_f0.jpg')")).to_have_count(1)
    expect(page.locator(".thumbs .thumb:has-text('sunny_burst')")).to_have_count(3)

    # Its Info tab records the source collection.
    page.click("nav.tabs >> text=Info")
    expect(page.locator("#dataset-source")).to_contain_text("Sunny picks")

    # The collection's title is a tag on each of its items in the explorer, and on no other item.
    page.goto(f"{base}/explore/")
    expect(page.locator("#grid .thumb")).to_have_count(8)
    expect(page.locator("#grid .chip.tag:has-text('Sunny picks')")).to_have_count(3)
    page.goto(f"{base}/items/{corpus['sunny'][0].uid}/")
    expect(page.locator("h1")).to_contain_text("sunny_0.jpg")
    expect(page.locator(".chip.tag:has-text('Sunny picks')")).to_have_count(1)


def test_the_add_dialog_counts_describes_and_keeps_its_errors_inside(live_server, browser_login, corpus):
    page = browser_login(corpus["user"])
    page.goto(f"{live_server.url}/w/acme/explore/?f=weather:in:Sunny,Rain&f=kind:in:image")
    page.click("#select-all")
    expect(page.locator("#selected-count")).to_contain_text("All 4 matching items selected")
    page.click("#selection button[type=submit]")
    page.click("button:has-text('Add to a collection')")
    dialog = page.locator("#add-to-collection")
    expect(dialog.locator("#add-summary [data-count]")).to_have_text("4")
    expect(dialog.locator("#add-filter")).to_have_text("weather is Sunny or Rain, kind is image")
    # Save with an empty title: the error shows inside the dialog, on a styled page, beside the title.
    dialog.locator("button[type=submit]").click()
    expect(dialog.locator("#id_title_error")).to_have_text("A collection needs a title.")
    expect(page.locator("header.topbar")).to_be_visible()
    expect(dialog.locator("#add-summary [data-count]")).to_have_text("4")
    assert page.get_attribute("#id_title", "aria-invalid") == "true"
    dialog.locator("#id_title").fill("Picks")
    dialog.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/w/acme/collections/")
    expect(page.locator("tr.collection-row", has_text="Picks").locator(".item-count")).to_have_text("4")
