"""An XSS corpus and a workspace whose every user-controlled string carries one of its payloads.

Every payload, if it ran, would call `alert()` (a browser dialog) or set `window.__xss`; the browser test
listens for both. `assert_inert(html)` is the HTML-level check: no element the payloads could create carries
an event handler, a script body or a javascript:/data: URL.
"""

from html.parser import HTMLParser

from metadata_site.collections.models import Collection, CollectionItem
from metadata_site.imports.models import ImportKind, ImportTask
from metadata_site.projects import services as info
from metadata_site.workspaces.models import Role

from ..factories import make_dataset, make_folder, make_item, make_project, make_schema, make_user, make_workspace

PAYLOADS = [
    "<script>window.__xss=1;alert('xss-script')</script>",
    "<img src=x onerror=\"window.__xss=1;alert('xss-img')\">",
    "<svg onload=\"window.__xss=1;alert('xss-svg')\"><circle r=1></circle></svg>",
    "\"><script>alert('xss-attr')</script>",
    "' onmouseover='alert(1)' x='",
    "javascript:alert('xss-js-url')",
    "data:text/html,<script>alert('xss-data')</script>",
    "<a href=\"javascript:alert('xss-link')\">click</a>",
    "<iframe src=\"javascript:alert('xss-iframe')\"></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-mxss')>",
    "{{7*7}} {% debug %} ${7*7} #{7*7}",
    "<div hx-get=\"/\" hx-trigger=\"load\" hx-on:htmx:load=\"alert('xss-htmx')\">htmx</div>",
]
# Enum options are at most 20 characters.
SHORT = ["\"><script>x</script>", "<img src=x onerror=1", "{{7*7}}{% debug %}", "javascript:alert(1)"]
README = "\n\n".join(
    [
        "# Title <script>alert('xss-md')</script>",
        "[click](javascript:alert('xss-md-link')) ![img](javascript:alert(1)) [d](data:text/html,x)",
        "<img src=x onerror=alert('xss-md-img')> <svg onload=alert(1)>",
        *PAYLOADS,
    ]
)


def build_hostile_world():
    """Workspace "acme" (admin "owner") full of payloads; returns (owner, objects)."""
    owner = make_user("owner")
    ws = make_workspace("acme", members={owner: Role.ADMIN})
    make_schema(
        ws,
        [
            {"name": "weather", "type": "enum", "options": SHORT},
            {"name": "tags", "type": "enum", "is_multi": True, "options": SHORT},
            {"name": "homepage", "type": "link"},
            {"name": "note", "type": "string", "description": PAYLOADS[1], "unit": PAYLOADS[0]},
        ],
    )
    folder = make_folder(ws, PAYLOADS[0])
    make_folder(ws, PAYLOADS[2], parent=folder)
    metadata = {p[:60]: p for p in PAYLOADS}
    metadata.update(weather=SHORT[0], tags=SHORT[:2], homepage=PAYLOADS[5], note=PAYLOADS[1])
    items = [
        make_item(folder, payload, metadata=metadata, media_url=PAYLOADS[5] if i == 0 else "")
        for i, payload in enumerate(PAYLOADS)
    ]
    project = make_project(ws, PAYLOADS[1])
    dataset = make_dataset(project, PAYLOADS[3], items=items)
    for obj in (project, dataset):
        info.info_save_readme(obj=obj, text=README, user=owner, base_version=None)
        info.info_save_custom_data(obj=obj, data={p: [p, {p: p}] for p in PAYLOADS}, user=owner, base_version=None)
    collection = Collection.objects.create(workspace=ws, title=PAYLOADS[2], description=PAYLOADS[0])
    CollectionItem.objects.bulk_create(
        [CollectionItem(workspace=ws, collection=collection, item=item) for item in items]
    )
    ImportTask.objects.create(
        workspace=ws, kind=ImportKind.values[0], created_by=owner, file_name=PAYLOADS[1] + ".csv",
        sample_errors=[{"row": 1, "key": PAYLOADS[0], "msg": PAYLOADS[2]}],
    )  # fmt: skip
    return owner, {"ws": ws, "folder": folder, "items": items, "project": project, "dataset": dataset,
                   "collection": collection}  # fmt: skip


def page_urls(objects: dict) -> list[str]:
    ws = objects["ws"].slug
    item = objects["items"][0]
    p, d = objects["project"].pk, objects["dataset"].pk
    return [
        f"/w/{ws}/",
        f"/w/{ws}/folders/{objects['folder'].pk}/",
        f"/w/{ws}/items/{item.uid}/",
        f"/w/{ws}/projects/{p}/",
        f"/w/{ws}/projects/{p}/info/",
        f"/w/{ws}/datasets/{d}/",
        f"/w/{ws}/datasets/{d}/info/",
        f"/w/{ws}/projects/{p}/info/history/readme/1/",
        f"/w/{ws}/schema/",
        f"/w/{ws}/explore/",
        f"/w/{ws}/explore/?view=table&cols=weather,tags,homepage,note",
        f"/w/{ws}/explore/?cols=weather,tags,homepage,note",
        f"/w/{ws}/explore/?scope=folder:{objects['folder'].pk}",
        f"/w/{ws}/explore/?scope=collection:{objects['collection'].pk}",
        f"/w/{ws}/explore/facets/",
        f"/w/{ws}/explore/?q=" + "%3Cscript%3Ealert(1)%3C/script%3E",
        f"/w/{ws}/explore/?f=weather:in:" + "%22%3E%3Cscript%3Ex%3C/script%3E",
        f"/w/{ws}/collections/",
        f"/w/{ws}/tasks/",
        f"/w/{ws}/changes/",
    ]


class _Inspector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            value = (value or "").strip().lower()
            if name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"<{tag} {name}=...>: an inline event handler")
            if name in ("href", "src", "action", "formaction", "xlink:href", "data", "hx-get", "hx-post"):
                if value.replace("\t", "").replace("\n", "").startswith(("javascript:", "data:text", "vbscript:")):
                    self.problems.append(f"<{tag} {name}={value[:40]!r}>: a script URL")
        if tag in ("iframe", "object", "embed", "math"):
            self.problems.append(f"<{tag}>: an element the app never renders")
        if tag == "script":
            self._script = attrs

    def handle_data(self, data):
        if self._script is not None and data.strip():
            if self._script.get("type") not in ("application/json",):
                self.problems.append(f"<script> with an inline body: {data.strip()[:60]!r}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


def assert_inert(html: str, where: str) -> None:
    inspector = _Inspector()
    inspector.feed(html)
    assert not inspector.problems, f"{where}:\n" + "\n".join(inspector.problems)
    assert "{'csrf_token'" not in html and "&#x27;csrf_token&#x27;" not in html, f"{where}: {{% debug %}} ran"
