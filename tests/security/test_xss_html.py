"""Every page that shows user-controlled strings, filled with the XSS corpus: everything is escaped, nothing
the payloads could inject survives as markup, and the CSP forbids inline scripts."""

import pytest

from .xss import PAYLOADS, assert_inert, build_hostile_world, page_urls

pytestmark = pytest.mark.django_db


def test_no_page_lets_a_payload_through(client):
    owner, objects = build_hostile_world()
    client.force_login(owner)
    for url in page_urls(objects):
        response = client.get(url)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        html = response.content.decode()
        assert_inert(html, url)
        for payload in PAYLOADS[:4]:
            assert payload not in html, f"{url}: raw payload {payload!r}"


def test_the_corpus_reaches_the_pages(client):
    """The check is not vacuous: the escaped payloads are on the pages."""
    owner, objects = build_hostile_world()
    client.force_login(owner)
    html = client.get(f"/w/acme/items/{objects['items'][0].uid}/").content.decode()
    assert "&lt;script&gt;window.__xss=1;" in html
    assert "{{7*7}}" in html


def test_the_inspector_catches_unescaped_markup():
    with pytest.raises(AssertionError, match="inline event handler"):
        assert_inert('<p><img src=x onerror="alert(1)"></p>', "sample")
    with pytest.raises(AssertionError, match="script URL"):
        assert_inert('<a href=" javascript:alert(1)">x</a>', "sample")
    with pytest.raises(AssertionError, match="inline body"):
        assert_inert("<script>alert(1)</script>", "sample")


def test_pages_carry_a_csp_that_forbids_inline_scripts(client):
    owner, objects = build_hostile_world()
    client.force_login(owner)
    for url in page_urls(objects)[:6]:
        csp = client.get(url)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
        assert directives["script-src"].split() == ["'self'"], csp
        assert "unsafe-inline" not in directives["script-src"]
        assert directives["object-src"] == "'none'"
        assert directives["frame-ancestors"] == "'none'"
