"""The explorer in real Chromium: filters, counts, URL state, back button, select all, sort."""

import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

from metadata_site.projects.models import Folder
from metadata_site.workspaces.models import Role
from tests.factories import make_folder, make_item, make_schema, make_user, make_workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIELDS = [
    {"name": "weather", "type": "enum", "options": ["Sunny", "Rain", "Fog"]},
    {"name": "temperature", "type": "float"},
    {"name": "captured_at", "type": "datetime"},
    {"name": "dark", "type": "boolean"},
    {"name": "colors", "type": "enum", "options": ["red", "blue"], "is_multi": True},
]


@pytest.fixture
def user():
    user = make_user("alice")
    ws = make_workspace("acme", members={user: Role.EDITOR})
    make_schema(ws, FIELDS)
    folder = make_folder(ws, "cams")
    weathers = ["Sunny", "Rain", "Fog"]
    for n in range(12):
        make_item(folder, f"img_{n:02d}.jpg", metadata={
            "weather": weathers[n % 3], "temperature": float(n * 3), "dark": n % 2 == 0,
            "captured_at": f"2025-03-{n + 1:02d}T12:00:00Z",
            "colors": [["red"], ["red", "blue"], []][n % 3 if n < 9 else 2],
        })
    return user


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e5274a8a0000000049454e44ae426082"
)


@pytest.fixture
def page_as(browser_login):
    """browser_login, with thumbnails answered by the browser itself: on SQLite the live server's
    threads share one in-memory connection, and fifty image requests racing the explorer's htmx
    requests break it (the thumbnails have their own tests)."""

    def _login(user):
        page = browser_login(user)
        page.route("**/thumb.png", lambda route: route.fulfill(status=200, content_type="image/png", body=PNG_1PX))
        return page

    return _login


def _open(page, url):
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _titles(page):
    return page.locator("#grid .cap").all_inner_texts()


def _total(page):
    """The fresh count (not the previous one, shown dimmed while the new one loads)."""
    page.wait_for_selector("#total:not(.stale) [data-total]")
    return int(page.get_attribute("#total:not(.stale) [data-total]", "data-total"))


def test_an_enum_and_a_range_filter_change_counts_and_grid(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    assert _total(page) == 12
    page.wait_for_selector("#fc-weather-1[data-count]")
    assert page.inner_text("#fc-weather-1") == "4"
    page.check("input[name='in.weather'][value=Sunny]")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('weather in Sunny')")
    assert _total(page) == 4
    assert sorted(_titles(page)) == ["img_00.jpg", "img_03.jpg", "img_06.jpg", "img_09.jpg"]
    page.select_option("select[name='op.temperature']", "gt")
    page.fill("input[name='v.temperature']", "10")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('temperature > 10')")
    assert _total(page) == 2
    assert sorted(_titles(page)) == ["img_06.jpg", "img_09.jpg"]
    # counts of the weather options under the other filter (temperature > 10)
    page.wait_for_selector("#fc-weather-2[data-count]")
    assert page.inner_text("#fc-weather-2") == "3"


def test_reload_restores_and_back_returns_to_the_previous_filter(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    page.check("input[name='in.weather'][value=Rain]")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('weather in Rain')")
    page.check("input[name='eq.dark'][value=true]")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('dark = true')")
    assert "f=dark%3Aeq%3Atrue" in page.url
    assert _total(page) == 2
    page.reload()
    assert page.is_checked("input[name='eq.dark'][value=true]")
    assert _total(page) == 2
    page.go_back()
    page.wait_for_function("!document.querySelector('.chip') || !document.body.innerText.includes('dark = true')")
    assert "dark" not in page.url
    assert _total(page) == 4
    assert page.is_checked("input[name='in.weather'][value=Rain]")


def test_select_all_matching_shows_the_count(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/?f=weather:in:Sunny,Fog")
    page.check("#grid input[name=item] >> nth=0")
    assert page.inner_text("#selected-count") == "1 selected"
    page.click("#select-all")
    page.wait_for_selector("#selected-count:has-text('All 8 matching items selected')")
    page.click("#selection button[type=submit]")
    page.wait_for_selector("#selection-total")
    assert page.inner_text("#selection-total") == "8 items selected."


def test_bulk_edit_of_all_matching_items_from_the_explorer(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/?f=weather:in:Fog")
    page.click("#select-all")
    page.wait_for_selector("#selected-count:has-text('All 4 matching items selected')")
    page.click("#selection button[type=submit]")
    page.wait_for_selector("#selection-total")
    page.click("button:has-text('Edit metadata')")
    page.wait_for_selector("#bulk-selected:has-text('4 items selected')")
    page.select_option("#id_bulk_field", "dark")
    page.wait_for_selector("#id_bulk_value[type=checkbox]")  # the script puts the boolean's switch in place
    page.check("#id_bulk_value")  # the boolean's switch
    page.click("#bulk-edit-form button[type=submit]")
    page.wait_for_selector("#bulk-preview")
    assert page.inner_text("[data-count=changing]") == "2"  # two of the four Fog items were dark already
    page.click("text=Apply to 2 items")
    page.wait_for_selector("#change-status")
    _open(page, f"{live_server.url}/w/acme/explore/?f=weather:in:Fog&f=dark:eq:true")
    assert _total(page) == 4


def test_multi_enum_kind_preset_and_folder_scope(live_server, page_as, user):
    folder = make_folder(Folder.objects.get(name="cams").workspace, "videos")
    make_item(folder, "clip.mp4", kind="video", metadata={"weather": "Sunny", "colors": []})
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    assert _total(page) == 13
    page.select_option("select[name='op.colors']", "has_all")
    page.check("input[name='in.colors'][value=red]")
    page.check("input[name='in.colors'][value=blue]")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('colors has all of red, blue')")
    assert sorted(_titles(page)) == ["img_01.jpg", "img_04.jpg", "img_07.jpg"]
    page.select_option("select[name='op.colors']", "has_none")
    page.uncheck("input[name='in.colors'][value=blue]")
    page.check("input[name='kind'][value=image]")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('colors has none of red')")
    # image kind, colors an array without red: img_02, 05, 08 and img_09, 10, 11 (all []); not the video
    assert _total(page) == 6
    page.check("input[name='preset.captured_at'][value='7d']")  # the items are from March 2025
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('captured_at ≥')")
    assert _total(page) == 0
    _open(page, f"{live_server.url}/w/acme/explore/?scope=folder:{folder.pk}")
    assert _total(page) == 1 and _titles(page) == ["clip.mp4"]


def test_sort_by_a_field(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    page.select_option("#sort", "-temperature")
    page.wait_for_url(re.compile(r"sort=-temperature"))
    page.wait_for_function("document.querySelector('#grid .cap').innerText === 'img_11.jpg'")
    assert _titles(page)[:3] == ["img_11.jpg", "img_10.jpg", "img_09.jpg"]


def test_title_datetime_presence_and_or_group_widgets_then_the_table_view(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    page.fill("input[name=q]", "img_0")  # img_00 .. img_09
    page.select_option("select[name='op.captured_at']", "between")
    page.fill("input[name='v.captured_at']", "2025-03-03T00:00:00Z")
    page.fill("input[name='v2.captured_at']", "2025-03-08T00:00:00Z")  # img_02 .. img_06
    page.select_option("select[name='set.temperature']", "is_set")
    page.select_option("#or-field-1", "weather")
    page.select_option("#or-op-1", "eq")
    page.fill("#or-value-1", "Fog")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip.tag:has-text('weather = Fog')")
    # Only one OR condition, so it must hold: img_02 and img_05 are the Fog ones in that range.
    assert _total(page) == 2
    assert sorted(_titles(page)) == ["img_02.jpg", "img_05.jpg"]
    for expected in ("title contains img_0", "captured_at between", "temperature is set"):
        assert page.locator(f".chip:has-text('{expected}')").count() == 1
    page.click("a:has-text('Table')")
    page.wait_for_selector("table.ex-table")
    assert "view=table" in page.url
    cells = page.locator("table.ex-table tbody tr >> nth=0").locator("td").all_inner_texts()
    assert cells[2].startswith("img_02.jpg") and "Fog" in cells
    # A facet option's link narrows to it: dark = true of these two is img_02.
    link = "section[data-facet-for=dark] a:text-is('true')"
    page.wait_for_selector(link)
    page.click(link)
    page.wait_for_selector(".chip:has-text('dark = true')")
    assert _total(page) == 1


def _filters_in_url(page):
    return sorted(v for k, v in parse_qsl(urlsplit(page.url).query) if k in ("f", "any"))


def test_five_sort_changes_keep_exactly_the_same_filters(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/?f=weather:in:Rain,Fog&f=temperature:gt:0")
    assert _total(page) == 8
    for sort, first in [("-temperature", "img_11.jpg"), ("temperature", "img_01.jpg"), ("-title", "img_11.jpg"),
                        ("title", "img_01.jpg"), ("-captured_at", "img_11.jpg")]:
        page.select_option("#sort", sort)
        page.wait_for_url(re.compile(rf"sort={re.escape(sort)}(&|$)"))
        expect(page.locator("#grid .cap").first).to_have_text(first)
        assert _filters_in_url(page) == ["temperature:gt:0.0", "weather:in:Rain,Fog"]
        assert page.locator(".ex-summary .chip").count() == 2
        assert _total(page) == 8
    assert page.input_value("#sort") == "-captured_at"


def test_a_typo_is_marked_at_its_input_and_every_other_filter_stays(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/?f=weather:in:Rain")
    assert _total(page) == 4
    page.select_option("#w-op-temperature", "gt")
    page.fill("#w-v-temperature", "12,5")  # applied by itself, after a pause
    page.wait_for_selector("#err-temperature")
    assert "expects a number, got '12,5'" in page.inner_text("#err-temperature")
    assert page.is_checked("input[name='in.weather'][value=Rain]")
    assert page.input_value("#w-v-temperature") == "12,5"
    assert page.get_attribute("#w-v-temperature", "aria-invalid") == "true"
    # The header, the count, the facets and the grid all agree: weather in Rain still applies.
    assert _total(page) == 4
    assert sorted(_titles(page)) == ["img_01.jpg", "img_04.jpg", "img_07.jpg", "img_10.jpg"]
    page.wait_for_selector("#fc-weather-2[data-count]")
    assert page.inner_text("#fc-weather-2") == "4"
    assert "could not be applied" in page.inner_text("#filter-problems")
    # Fixing it applies it and clears the mark.
    page.fill("#w-v-temperature", "12.5")
    page.wait_for_selector(".chip:has-text('temperature > 12.5')")
    page.wait_for_selector("#err-temperature", state="detached")
    assert _total(page) == 2 and page.is_checked("input[name='in.weather'][value=Rain]")  # img_07, img_10


def test_a_bad_filter_in_the_url_is_named_and_the_rest_applies(live_server, page_as, user):
    page = page_as(user)
    page.goto(f"{live_server.url}/w/acme/explore/?f=weather:in:Rain&f=temperature:gt:warm&f=nope:has_any:a")
    page.wait_for_load_state("networkidle")
    assert _total(page) == 4 and len(_titles(page)) == 4
    problems = page.inner_text("#filter-problems")
    assert "f=nope:has_any:a: operator 'has_any' is not allowed for 'nope' (undeclared)" in problems
    assert "'temperature' expects a number, got 'warm'" in page.inner_text("#err-temperature")
    assert page.input_value("#w-v-temperature") == "warm"
    # The bad condition no widget shows is a chip that removes it.
    page.click(".chip.bad a")
    page.wait_for_selector(".chip.bad", state="detached")
    assert "nope" not in page.url and "warm" in page.url


def test_filters_apply_as_they_change_and_old_counts_stay_until_new_ones_come(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    assert _total(page) == 12
    page.check("input[name='in.weather'][value=Sunny]")  # no click on Apply
    page.wait_for_selector(".chip:has-text('weather in Sunny')")
    assert _total(page) == 4
    # While the next count loads, the previous one stays on screen, dimmed (never a bare "count" link).
    held = []
    page.route("**/explore/count/**", lambda route: held.append(route))
    page.check("input[name='eq.dark'][value=true]")
    page.wait_for_selector(".chip:has-text('dark = true')")
    page.wait_for_selector("#total.stale")
    assert "4 items" in page.inner_text("#total")
    while not held:
        page.wait_for_timeout(50)
    page.unroute("**/explore/count/**")
    for route in held:
        route.continue_()
    assert _total(page) == 2  # img_00, img_06


def test_the_or_group_builder_adds_and_removes_conditions(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    page.select_option("#or-field-1", "weather")
    assert page.is_disabled("#or-op-1 option[value=gt]")  # only an enum's operators
    page.select_option("#or-op-1", "eq")
    page.fill("#or-value-1", "Fog")
    page.wait_for_selector(".chip.tag:has-text('weather = Fog')")
    page.click("[data-or-add]")
    page.select_option("#or-field-2", "temperature")
    page.select_option("#or-op-2", "gte")
    page.fill("#or-value-2", "30")
    page.wait_for_selector(".chip.tag:has-text('temperature ≥ 30')")
    assert _filters_in_url(page) == ["temperature:gte:30.0", "weather:eq:Fog"]
    assert [k for k, _ in parse_qsl(urlsplit(page.url).query)].count("any") == 2
    assert _total(page) == 5  # Fog: 02 05 08 11, plus img_10 and img_11 at 30 and 33
    # A bad value is marked in its row; the other OR condition still applies.
    page.fill("#or-value-2", "hot")
    page.wait_for_selector("#or-err-2")
    assert "expects a number" in page.inner_text("#or-err-2")
    assert _total(page) == 4
    page.click("[aria-label='Remove OR condition 2']")
    page.wait_for_selector("#or-err-2", state="detached")
    page.wait_for_url(re.compile(r"^(?!.*temperature)"))
    page.reload()
    assert page.input_value("#or-field-1") == "weather" and page.input_value("#or-value-1") == "Fog"
    assert _total(page) == 4


def test_act_on_selection_is_disabled_until_something_is_selected(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/?f=weather:in:Sunny")
    assert page.is_disabled("#act-on-selection")
    page.check("#grid input[name=item] >> nth=0")
    assert page.is_enabled("#act-on-selection")
    page.uncheck("#grid input[name=item] >> nth=0")
    assert page.is_disabled("#act-on-selection")
    page.click("#select-all")
    page.wait_for_selector("#selected-count:has-text('All 4 matching items selected')")
    assert page.is_enabled("#act-on-selection")


def test_the_table_keeps_sort_and_filters_when_columns_and_views_change(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/?f=weather:in:Sunny&sort=-temperature&view=table")
    assert page.locator("table.ex-table thead th").all_inner_texts()[2:] == ["Title", "weather", "temperature", "captured_at", "dark", "colors"]
    page.click("#columns summary")
    page.uncheck("#columns input[value=captured_at]")
    page.wait_for_url(re.compile(r"cols="))
    page.wait_for_function("document.querySelectorAll('table.ex-table thead th').length === 7")
    assert "f=weather%3Ain%3ASunny" in page.url and "sort=-temperature" in page.url
    assert page.locator("table.ex-table tbody tr >> nth=0").locator("td.ex-thumb img").count() == 1
    # img_09 (colors []) shows an empty cell, not "[]".
    row = page.locator("table.ex-table tbody tr", has_text="img_09.jpg")
    assert row.locator("td").last.inner_text().strip() == ""
    page.click("a:has-text('Grid')")
    page.wait_for_selector("#grid")
    assert "sort=-temperature" in page.url and "f=weather%3Ain%3ASunny" in page.url
    assert _titles(page)[0] == "img_09.jpg"


def test_a_date_range_includes_its_last_day(live_server, page_as, user):
    page = page_as(user)
    _open(page, f"{live_server.url}/w/acme/explore/")
    page.select_option("select[name='op.captured_at']", "between")
    page.fill("input[name='v.captured_at']", "2025-03-03")
    page.fill("input[name='v2.captured_at']", "2025-03-08")  # img_07 is at noon on March 8: the last day counts
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('captured_at between')")
    assert _total(page) == 6
    assert sorted(_titles(page)) == [f"img_{n:02d}.jpg" for n in range(2, 8)]
    assert "2025-03-03..2025-03-08" in page.url.replace("%2E", ".")
    # A date alone finds that day's items.
    page.select_option("select[name='op.captured_at']", "eq")
    page.fill("input[name='v.captured_at']", "2025-03-08")
    page.click("#filters button[type=submit] >> nth=0")
    page.wait_for_selector(".chip:has-text('captured_at = 2025-03-08')")
    assert _total(page) == 1 and _titles(page) == ["img_07.jpg"]


def test_screenshot_explorer(live_server, browser_login, user):
    page = browser_login(user)  # real thumbnails: this picture goes into the README
    page.set_viewport_size({"width": 1400, "height": 900})
    _open(page, f"{live_server.url}/w/acme/explore/?f=weather:in:Sunny,Rain&view=grid")
    page.wait_for_selector("#fc-weather-1[data-count]")
    page.wait_for_selector("#total [data-total]")
    assert _total(page) == 8
    target = os.environ.get("SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / "explorer.png"), full_page=True)


def test_a_count_stopped_by_the_statement_timeout_shows_the_message_in_place(user, browser_login, live_server,
                                                                              settings, monkeypatch):
    """PostgreSQL: the lazy count's query outlives a 300 ms statement_timeout; htmx swaps the 503 message in."""
    from django.db import connection

    from metadata_site.explorer import selectors

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no statement timeout")
    settings.DATABASE_STATEMENT_TIMEOUT_MS = 300
    real = selectors._count

    def slow_count(*args, **kwargs):
        from django.db import connection as request_connection

        with request_connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")
        return real(*args, **kwargs)

    monkeypatch.setattr(selectors, "_count", slow_count)  # what every exact count runs
    page = browser_login(user)
    page.goto(f"{live_server.url}/w/acme/explore/?f=weather:eq:Sunny")
    message = page.locator(".query-too-slow")
    message.wait_for(timeout=15_000)
    assert "This query took too long and was stopped after 0.3 s" in message.inner_text()
    assert page.locator("#explorer").is_visible()  # the rest of the page stays


def test_a_count_that_looks_slow_shows_a_labelled_estimate_then_the_exact_figure(live_server, page_as, user,
                                                                                 monkeypatch):
    from django.db import connection

    from metadata_site.explorer import selectors

    if connection.vendor != "postgresql":
        pytest.skip("SQLite gives no planner estimate: its counts are always exact")
    monkeypatch.setattr(selectors, "ESTIMATE_ABOVE", 0)  # every filtered count looks slow
    monkeypatch.setattr(selectors, "ESTIMATE_ABOVE_JSON", 0)
    page = page_as(user)
    held = []  # the exact count's request, held until the estimate has been seen
    page.route(re.compile(r".*/explore/count/\?.*exact=1.*"), lambda route: held.append(route))
    page.goto(f"{live_server.url}/w/acme/explore/?f=temperature:gt:10")
    page.wait_for_selector("#total [data-estimate]")
    assert "(estimate; counting exactly…)" in page.inner_text("#total")
    page.wait_for_function("() => true")  # let the route handler run
    assert held, "the estimate did not ask for the exact count"
    held[0].continue_()
    assert _total(page) == 8
    assert "estimate" not in page.inner_text("#total")


def test_after_another_users_edit_the_kept_count_and_facets_are_patched_not_computed_again(live_server, page_as, user,
                                                                                          monkeypatch):
    from django.db import connection

    from metadata_site.explorer import facets, projection
    from metadata_site.items.models import Item
    from metadata_site.schemas.selectors import schema_current

    if connection.vendor != "postgresql":
        pytest.skip("figures are kept only over PostgreSQL's typed projection")
    ws = user.memberships.get().workspace
    assert projection.build(workspace_id=ws.pk, schema=schema_current(workspace=ws)) == "built"
    passes = []
    monkeypatch.setattr(facets, "_facets", lambda *a, _real=facets._facets, **k: passes.append(1) or _real(*a, **k))
    page = page_as(user)
    url = f"{live_server.url}/w/acme/explore/?f=temperature:gt:10&f=dark:eq:true"
    _open(page, url)
    assert _total(page) == 4  # img_04, img_06, img_08, img_10 (dark: even n; temperature 12 to 30)
    page.wait_for_selector("#fc-weather-1[data-count]")
    assert [page.inner_text(f"#fc-weather-{n}") for n in (1, 2, 3)] == ["1", "2", "1"]
    assert passes == [1]
    # Another user's edit, committed: img_05 (temperature 15, Fog) turns dark, so it comes in.
    item = Item.objects.get(title="img_05.jpg")
    Item.objects.filter(pk=item.pk).update(client_metadata={**item.client_metadata, "dark": True})
    _open(page, url)
    assert _total(page) == 5
    page.wait_for_selector("#fc-weather-1[data-count]")
    assert [page.inner_text(f"#fc-weather-{n}") for n in (1, 2, 3)] == ["1", "2", "2"]
    assert passes == [1], "the facets were computed again instead of patched from the change log"
