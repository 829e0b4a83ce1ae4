"""The embedding map in real Chromium: an editor builds the map of an embedding field, sees the points drawn on the
canvas (coloured by an enum, with its legend), hovers a point to see its item, drags a box, clicks "Show in
explorer" and sees the explorer list exactly the items whose points lie in that box, with the other filter kept."""

from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from metadata_site.items.services import MODE_MERGE, item_metadata_write
from metadata_site.media.models import MapPoint
from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_item, make_schema, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_builds_the_map_draws_a_box_and_sees_the_explorer_filtered_to_it(live_server, browser_login):
    bob = make_user("bob")
    workspace = make_workspace("acme", members={bob: Role.EDITOR})
    make_schema(workspace, [
        {"name": "emb", "type": "embedding", "dimension": 8, "distance": "euclidean"},
        {"name": "weather", "type": "enum", "options": ["Sunny", "Rain"]},
    ])
    folder = make_folder(workspace, "pictures")
    rng = np.random.default_rng(11)
    items = [make_item(folder, f"p{i:02d}.jpg", metadata={"weather": "Sunny" if i % 4 else "Rain"}) for i in range(40)]
    item_metadata_write(workspace=workspace, user=bob, mode=MODE_MERGE,
                        updates={it.pk: {"emb": rng.normal(size=8).tolist()} for it in items})

    page = browser_login(bob)
    page.goto(f"{live_server.url}/w/acme/explore/?f=weather:eq:Sunny")
    page.click("a.open-map")
    page.wait_for_url(lambda url: "/map/" in url and "field=emb" in url)
    page.click("#build-map")
    canvas = page.locator("#map-canvas")
    canvas.wait_for()
    page.select_option("#map-options select[name=color]", "weather")
    page.click("#map-options button[type=submit]")
    page.wait_for_url(lambda url: "color=weather" in url)
    page.wait_for_function("() => Number(document.getElementById('map-canvas').dataset.drawn) > 0")
    assert page.locator("#map-canvas").get_attribute("data-drawn") == "30"  # the Sunny items only: the filter is kept
    coloured = page.evaluate("""() => {
        const c = document.getElementById('map-canvas'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] !== 255 || d[i + 1] !== 255 || d[i + 2] !== 255) n++;
        return n; }""")
    assert coloured >= 30 * 25 - 150  # 5×5 pixels a point when there are few (a few may overlap)
    assert "Sunny" in page.inner_text("#map-legend") and "Rain" in page.inner_text("#map-legend")

    # Hover the first drawn point: its item shows.
    box = canvas.bounding_box()
    spot = page.evaluate("""() => {
        const c = document.getElementById('map-canvas'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i += 4) if (d[i] !== 255) { const p = i / 4; return [p % c.width + 1, Math.floor(p / c.width) + 1]; }
        return null; }""")
    scale = box["width"] / 1000
    page.mouse.move(box["x"] + spot[0] * scale, box["y"] + spot[1] * scale)
    page.locator("#map-hover-link").wait_for()
    assert page.inner_text("#map-hover-link").strip().endswith(".jpg")

    # Drag a box over the middle of the map.
    page.click("#map-select")
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] * 0.85, steps=5)
    page.mouse.up()
    page.locator("#map-show").wait_for()
    page.click("#map-show")
    page.wait_for_url(lambda url: "/explore/" in url)

    params = parse_qs(urlsplit(page.url).query)
    (boxed,) = [f for f in params["f"] if f.startswith("$map:box:")]
    assert "weather:eq:Sunny" in params["f"]
    x0, y0, x1, y1 = (float(v) for v in boxed.split("/")[2].split(","))
    expected = sorted(MapPoint.objects.filter(item__client_metadata__weather="Sunny", x__gte=x0, x__lte=x1,
                                              y__gte=y0, y__lte=y1).values_list("item__title", flat=True))
    assert 0 < len(expected) < 30
    titles = sorted(t.split("\n")[0].strip() for t in page.locator("#grid .thumb .cap").all_inner_texts())
    assert titles == expected
    assert page.locator(".chip", has_text="in a box of the PCA map of emb").count() == 1
