"""README rendering: Markdown features on, anything executable off."""

import pytest

from metadata_site.lib.markdown import render_markdown


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("# Title", "<h1>Title</h1>"),
        ("~~old~~", "<p><s>old</s></p>"),
        ("**b** *i* `c`", "<p><strong>b</strong> <em>i</em> <code>c</code></p>"),
        ("[site](https://example.com)", '<a href="https://example.com" rel="noopener noreferrer nofollow">site</a>'),
        ("[rel](/w/acme/)", '<a href="/w/acme/" rel="noopener noreferrer nofollow">rel</a>'),
        ("| a | b |\n|:--|--:|\n| 1 | 2 |", '<td style="text-align:right">2</td>'),
        ("![pic](https://example.com/p.png)", '<img src="https://example.com/p.png" alt="pic">'),
    ],
)
def test_it_renders_markdown(source, expected):
    assert expected in render_markdown(source)


@pytest.mark.parametrize(
    ("source", "forbidden"),
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "<img"),
        ("<a href='javascript:alert(1)'>x</a>", "<a"),
        ("[x](javascript:alert(1))", 'href="javascript'),
        ("[x](JaVaScRiPt:alert(1))", "href="),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", "href="),
        ("![x](javascript:alert(1))", "<img"),
        ('<div style="position:fixed">x</div>', "<div"),
        ("<iframe src=https://example.com></iframe>", "<iframe"),
    ],
)
def test_it_never_lets_anything_executable_through(source, forbidden):
    html = render_markdown(source)
    assert forbidden not in html.lower()


def test_raw_html_is_shown_as_text():
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in render_markdown("<script>alert(1)</script>")


def test_empty_text_renders_nothing():
    assert render_markdown("") == ""
