"""Markdown → safe HTML for READMEs: markdown-it-py (CommonMark, tables, strikethrough, raw HTML off) then nh3.

No scripts, no event handlers, no styles beyond table cell alignment, only http/https/mailto (and relative)
links, and every link gets rel="noopener noreferrer nofollow".
"""

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")

TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "s", "del", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "noopener noreferrer nofollow"


def render_markdown(text: str) -> str:
    """Safe HTML for `text` (Markdown). Raw HTML in the source is shown as text, never interpreted."""
    html = _md.render(text or "")
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        filter_style_properties={"text-align"},
        strip_comments=True,
    )
