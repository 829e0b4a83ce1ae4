"""The permission matrix: every URL of the site → the methods it accepts → who may use them.

`tests/security/test_permission_matrix.py` walks Django's URL resolver (and django-ninja's operations under
/api/) and checks every (URL, method) against this table for five callers: anonymous, a stranger (admin of
another workspace), and a viewer, an editor and an admin of workspace "acme". A URL missing here fails the
suite: add an entry with the methods the view accepts and the level each one needs.

Expected statuses per level (`expected()`):

- anonymous: a redirect to the login page for pages and partials; 401 for the API and vendor SDK routes.
- stranger: 404 for everything inside a workspace (never a hint that it exists).
- a member below the level: 403.
- a caller at or above the level: "success" — for GET the `ok` statuses of the entry (200 unless said
  otherwise); for a write method any answer that shows the request got past the access check: 2xx, a
  redirect, or 400/409/422 (the matrix sends an empty or minimal body, so a validation error is a pass).
"""

from dataclasses import dataclass, field

# Who may call: levels from the most open to the most closed.
PUBLIC = "public"  # anyone, logged in or not
LOGIN = "login"  # any logged-in user
READ = "read"  # viewer, editor, admin of the workspace
WRITE = "write"  # editor, admin
ADMIN = "admin"  # admin only
STAFF = "staff"  # Django admin site: staff only (no test user is staff)
MINE = "mine"  # a logged-in user's own object (token, SSH key): the owner, 404 for everyone else
OWN_ADMIN = "own-admin"  # the caller's own workspace (Encord schema writes): admins of any workspace

ROLES = ("anonymous", "stranger", "viewer", "editor", "admin")
RANK = {"viewer": 1, "editor": 2, "admin": 3}
NEED = {READ: 1, WRITE: 2, ADMIN: 3}

WRITE_OK = frozenset({200, 201, 202, 204, 301, 302, 303, 400, 409, 422})


@dataclass(frozen=True)
class Entry:
    methods: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)  # URL parameter → world attribute (see `fill`)
    query: str = ""
    data: dict | None = None  # form body sent with write methods (default: empty)
    ok: frozenset[int] = frozenset({200})  # the successful GET statuses
    ok_write: frozenset[int] = WRITE_OK  # the successful statuses of write methods
    api: bool = False  # answers 401 (not a login redirect) to anonymous callers
    auth: str = "session"  # how callers authenticate: "session", "token" (Bearer) or "encord" (signed)
    json: object = None  # JSON body sent with write methods of the API (default: {})


def every_method(level: str) -> dict[str, str]:
    """For views that answer every method alike (read-only documentation)."""
    return {m: level for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}


# Values of URL parameters, by parameter name, unless the entry says otherwise. A value is a world
# attribute path ("item.uid") or a literal prefixed with "=".
PARAMS = {
    "slug": "workspace.slug",
    "uid": "item.uid",
    "item_uid": "item.uid",
    "project_id": "project.pk",
    "dataset_id": "dataset.pk",
    "change_set_id": "change_set.pk",
    "token_id": "api_token.pk",
    "key_id": "ssh_key.pk",
    "folder": "folder.uid",
    "item": "item.uid",
    "rest": "=no/such/endpoint",
    "project": "project.uid",
    "ontology": "project.uid",
    "version": "=1",
    "kind": "=readme",
    "folder_id": "folder.pk",
}

_INFO = {
    # The Info tab's write and history URLs, for projects and datasets alike.
    "{prefix}/<int:pk>/info/readme/": Entry({"POST": WRITE}),
    "{prefix}/<int:pk>/info/readme/preview/": Entry({"POST": WRITE}),
    "{prefix}/<int:pk>/info/custom-data/": Entry({"POST": WRITE}),
    "{prefix}/<int:pk>/info/history/<slug:kind>/<int:version>/": Entry({"GET": READ}),
    "{prefix}/<int:pk>/info/history/<slug:kind>/<int:version>/restore/": Entry({"POST": WRITE}),
}

W = "w/<slug:slug>/"

# Valid bodies for API writes whose body is validated before the view runs (ninja answers 422 first), so the
# matrix reaches the access check.
API_BODIES = {
    "w/<slug>/projects/<int:project_id>/readme": {"readme": "# hi"},
    "w/<slug>/datasets/<int:dataset_id>/readme": {"readme": "# hi"},
    "w/<slug>/items/metadata": {"updates": {"{item.uid}": {"temperature": 1.5}}},
    "w/<slug>/schema": {"fields": []},
}

MATRIX: dict[str, Entry] = {
    # accounts
    "favicon.ico": Entry({"GET": PUBLIC}, ok=frozenset({302})),
    "accounts/login/": Entry({"GET": PUBLIC, "POST": PUBLIC, "PUT": PUBLIC}),  # FormView treats PUT as POST
    "accounts/logout/": Entry({"POST": PUBLIC}, ok=frozenset({200, 302})),
    "accounts/settings/": Entry({"GET": LOGIN}),
    "accounts/settings/tokens/": Entry({"POST": LOGIN}),
    "accounts/settings/tokens/<int:token_id>/revoke/": Entry({"POST": MINE}, ok_write=frozenset({200, 302})),
    "accounts/settings/ssh-keys/": Entry({"POST": LOGIN}),
    "accounts/settings/ssh-keys/<int:key_id>/remove/": Entry({"POST": MINE}, ok_write=frozenset({200, 302})),
    # workspaces
    "": Entry({"GET": LOGIN}, ok=frozenset({200, 302})),  # one workspace: straight to it
    W: Entry({"GET": READ}),
    # projects
    W + "projects/<int:pk>/": Entry({"GET": READ}, {"pk": "project.pk"}),
    W + "projects/<int:pk>/info/": Entry({"GET": READ}, {"pk": "project.pk"}),
    W + "projects/<int:pk>/info/schema/": Entry({"POST": WRITE}, {"pk": "project.pk"}),
    W + "projects/<int:pk>/datasets/attach/": Entry({"POST": WRITE}, {"pk": "project.pk"}),
    W + "projects/<int:pk>/datasets/<int:dataset_pk>/detach/": Entry(
        {"POST": WRITE}, {"pk": "project.pk", "dataset_pk": "dataset.pk"}
    ),
    W + "datasets/<int:pk>/": Entry({"GET": READ}, {"pk": "dataset.pk"}),
    W + "datasets/<int:pk>/info/": Entry({"GET": READ}, {"pk": "dataset.pk"}),
    W + "folders/<int:pk>/": Entry({"GET": READ}, {"pk": "folder.pk"}),
    **{
        W + route.format(prefix=prefix): Entry(entry.methods, {"pk": f"{owner}.pk"})
        for prefix, owner in (("projects", "project"), ("datasets", "dataset"))
        for route, entry in _INFO.items()
    },
    # items
    W + "items/<uuid:uid>/": Entry({"GET": READ}),
    W + "items/<uuid:uid>/thumb.png": Entry({"GET": READ}),
    # media
    W + "items/<uuid:uid>/original": Entry({"GET": READ, "HEAD": READ}, {"uid": "video.uid"}),
    W + "items/<uuid:uid>/keyframes/<int:n>": Entry({"GET": READ, "HEAD": READ}, {"uid": "video.uid", "n": "=0"}),
    W + "duplicates/": Entry({"GET": READ, "HEAD": READ}),
    W + "duplicates/refresh": Entry({"POST": WRITE}),
    W + "duplicates/collect": Entry({"POST": WRITE}),
    W + "duplicates/out-of-dataset": Entry({"POST": WRITE}),
    W + "similar/upload": Entry({"POST": READ}),  # find images like an uploaded file (nothing stored)
    # the embedding map: no embedding field in the matrix's world, so the page and points answer 400 with the reason
    W + "map/": Entry({"GET": READ}, ok=frozenset({200, 400})),
    W + "map/points": Entry({"GET": READ}, ok=frozenset({400})),
    W + "map/point": Entry({"GET": READ}, query="id=1", ok=frozenset({200, 404})),
    W + "map/build": Entry({"POST": WRITE}),
    W + "items/<uuid:uid>/metadata/": Entry({"POST": WRITE}),
    W + "items/<uuid:uid>/metadata/json/": Entry({"POST": WRITE}),
    W + "items/bulk-edit/": Entry({"POST": WRITE}),
    W + "changes/": Entry({"GET": READ}),
    W + "changes/<int:pk>/": Entry({"GET": READ}, {"pk": "change_set.pk"}),
    W + "changes/<int:pk>/undo/": Entry({"POST": WRITE}, {"pk": "change_set.pk"}),
    # schemas
    W + "schema/": Entry({"GET": READ}),
    W + "schema/declare/": Entry({"POST": WRITE}),
    W + "schema/drop/": Entry({"POST": WRITE}),
    W + "schema/import/": Entry({"GET": WRITE, "POST": WRITE}),
    W + "schema/download/": Entry({"GET": READ}),
    W + "schema/infer/": Entry({"GET": WRITE}),
    W + "schema/rename/": Entry({"GET": WRITE, "POST": WRITE}, query="field=weather", data={"field": "weather"}),
    W + "schema/renames/<int:pk>/": Entry({"GET": READ}, {"pk": "field_rename.pk"}),
    W + "schema/change/": Entry({"GET": WRITE, "POST": WRITE}, query="field=weather", data={"field": "weather"}),
    W + "schema/versions/<int:version>/": Entry({"GET": READ}),
    # explorer
    W + "explore/": Entry({"GET": READ}),
    W + "explore/count/": Entry({"GET": READ}),
    W + "explore/facets/": Entry({"GET": READ}),
    W + "explore/undeclared/": Entry({"GET": READ}),
    W + "explore/selection/": Entry({"POST": READ}),
    # collections
    W + "collections/": Entry({"GET": READ}),
    W + "collections/add/": Entry({"GET": WRITE, "POST": WRITE}),
    W + "collections/create-dataset/": Entry({"GET": WRITE, "POST": WRITE}),
    W + "collections/tasks/<uuid:uid>/": Entry({"GET": READ}, {"uid": "collection_task.uid"}),
    W + "collections/<int:pk>/edit/": Entry({"POST": WRITE}, {"pk": "collection.pk"}),
    W + "collections/<int:pk>/delete/": Entry({"POST": WRITE}, {"pk": "collection.pk"}),
    W + "collections/<int:pk>/freeze/": Entry({"POST": WRITE}, {"pk": "collection.pk"}),
    W + "collections/<int:pk>/remove-items/": Entry({"POST": WRITE}, {"pk": "collection.pk"}),
    # imports and exports
    W + "tasks/": Entry({"GET": READ}),
    W + "tasks/new/": Entry({"GET": WRITE, "POST": WRITE}),
    W + "tasks/<int:pk>/": Entry({"GET": READ}, {"pk": "import_task.pk"}),
    W + "tasks/<int:pk>/apply/": Entry({"POST": WRITE}, {"pk": "import_task.pk"}),
    W + "tasks/<int:pk>/cancel/": Entry({"POST": WRITE}, {"pk": "import_task.pk"}),
    W + "tasks/<int:pk>/undo/": Entry({"POST": WRITE}, {"pk": "import_task.pk"}),
    W + "tasks/<int:pk>/errors.csv": Entry({"GET": READ}, {"pk": "import_task.pk"}),
    W + "tasks/<int:pk>/download/": Entry({"GET": READ}, {"pk": "import_task.pk"}, ok=frozenset({200, 302, 404})),
    W + "export/": Entry({"GET": READ}),
    # the JSON API: its documentation is public, everything else needs a token (anonymous → 401)
    "api/": Entry(every_method(PUBLIC), ok=frozenset({404}), ok_write=frozenset({404}), api=True),  # no resource
    "api/openapi.json": Entry(every_method(PUBLIC), ok_write=frozenset({200}), api=True),
    "api/docs": Entry(every_method(PUBLIC), ok_write=frozenset({200}), api=True),
    "api/health": Entry({"GET": PUBLIC}, api=True),
    "api/<path:rest>": Entry(every_method(PUBLIC), ok=frozenset({404}), ok_write=frozenset({404}), api=True),
    **{"api/" + route: Entry(methods, api=True, auth="token", json=API_BODIES.get(route)) for route, methods in {
        "workspaces": {"GET": LOGIN},
        "w/<slug>": {"GET": READ},
        "w/<slug>/folders": {"GET": READ},
        "w/<slug>/projects": {"GET": READ},
        "w/<slug>/projects/<int:project_id>": {"GET": READ},
        "w/<slug>/projects/<int:project_id>/info": {"GET": READ},
        "w/<slug>/projects/<int:project_id>/readme": {"GET": READ, "PUT": WRITE},
        "w/<slug>/projects/<int:project_id>/custom_data": {"GET": READ, "PUT": WRITE, "PATCH": WRITE},
        "w/<slug>/datasets": {"GET": READ},
        "w/<slug>/datasets/<int:dataset_id>": {"GET": READ},
        "w/<slug>/datasets/<int:dataset_id>/info": {"GET": READ},
        "w/<slug>/datasets/<int:dataset_id>/readme": {"GET": READ, "PUT": WRITE},
        "w/<slug>/datasets/<int:dataset_id>/custom_data": {"GET": READ, "PUT": WRITE, "PATCH": WRITE},
        "w/<slug>/items": {"GET": READ},
        "w/<slug>/items/search": {"POST": READ},
        "w/<slug>/items/<uuidstr:item_uid>": {"GET": READ},
        "w/<slug>/items/<uuidstr:item_uid>/metadata": {"GET": READ, "PUT": WRITE, "PATCH": WRITE},
        "w/<slug>/items/metadata": {"POST": WRITE},
        "w/<slug>/schema": {"GET": READ, "PUT": WRITE},
        "w/<slug>/schema/versions": {"GET": READ},
        "w/<slug>/schema/fields": {"POST": WRITE},
        "w/<slug>/schema/undeclared": {"GET": READ},
        "w/<slug>/schema/inferred": {"GET": READ},
        "w/<slug>/change_sets": {"GET": READ},
        "w/<slug>/change_sets/<int:change_set_id>/undo": {"POST": WRITE},
        "w/<slug>/folders/<folder_id>/media": {"POST": WRITE},  # no file sent: an editor gets 400
    }.items()},
    # Encord SDK (signed requests; a key acts for its user's workspaces). The write bodies name the acme item,
    # so a stranger's key gets 404 and a viewer's 403 rather than an empty success.
    **{"v2/public/" + route: Entry(methods, api=True, auth="encord", json=body) for route, methods, body in [
        ("storage/folders", {"GET": LOGIN}, None),
        ("storage/search/folders", {"GET": LOGIN}, None),
        ("storage/folders/<str:folder>", {"GET": READ}, None),
        ("storage/folders/<str:folder>/folders", {"GET": READ}, None),
        ("storage/folders/<str:folder>/items", {"GET": READ}, None),
        ("storage/folders/<str:folder>/items/<str:item>", {"PATCH": WRITE}, {"clientMetadata": {"k": 1}}),
        ("storage/folders/<str:folder>/items/<str:item>/child-items", {"GET": READ}, None),
        ("storage/items/patch-bulk", {"PATCH": WRITE}, {"itemPatches": {"{item.uid}": {"clientMetadata": {}}}}),
        ("storage/items/<str:item>", {"GET": READ}, None),
        ("projects/<str:project>", {"GET": READ}, None),
        ("projects/<str:project>/datasets", {"GET": READ}, None),
        ("ontologies/<str:ontology>", {"GET": READ}, None),
        # The schema of the caller's own workspace: a stranger's key reads and writes the stranger's.
        ("organisation/client-metadata-schema-v2", {"GET": LOGIN, "POST": OWN_ADMIN}, None),
        ("organisation/client-metadata-schema", {"GET": LOGIN, "POST": OWN_ADMIN}, None),
    ]},
    # The rest of a project's Encord API: no labels here, so a read is not found and a write a 400 (never accepted).
    "v2/public/projects/<str:project>/<path:rest>": Entry(
        every_method(READ), ok=frozenset({404}), ok_write=frozenset({400}), api=True, auth="encord"
    ),
    # The legacy Encord RPC answers every call with HTTP 200 and reports errors in its envelope (its own tests
    # check the envelope's 401/403/404 codes).
    "public": Entry({"POST": PUBLIC}, ok_write=frozenset({200})),
    # The Supervisely SDK authenticates by an API token in x-api-key only, never by the session: every caller
    # here gets 401 (tests/compat/test_supervisely.py covers viewer 403 on writes and strangers 404).
    "public/api/v3/<str:method>": Entry(
        {"POST": PUBLIC}, {"method": "=projects.info"}, ok_write=frozenset({401}), api=True
    ),
}

# Whole subtrees with one rule: (route prefix, level for every method the view accepts).
PREFIXES = [
    ("admin/", STAFF),
]


def expected(level: str, role: str, method: str, entry: Entry) -> frozenset[int] | str:
    """The statuses allowed for `role` calling a URL of `level` with `method`, or "login" for a redirect to
    the login page."""
    success = entry.ok if method in ("GET", "HEAD") else entry.ok_write
    if level == PUBLIC:
        return success
    if level == STAFF:
        return "admin-login"
    if role == "anonymous":
        return frozenset({401}) if entry.api else "login"
    if level == LOGIN:
        return success
    if level == MINE:
        return success if role == "admin" else frozenset({404})
    if level == OWN_ADMIN:
        return success if role in ("stranger", "admin") else frozenset({403})
    if role == "stranger":
        return frozenset({404})
    return success if RANK[role] >= NEED[level] else frozenset({403})



# --- the JSON API's imports, exports, collections and Visual Layer routes (helper `api`) -----------------


def _token(methods: dict[str, str], ok: frozenset[int] = frozenset({200}), **params: str) -> Entry:
    return Entry(methods, params, ok=ok, api=True, auth="token")


MATRIX.update({
    "api/w/<slug>/imports": _token({"GET": READ, "POST": WRITE}),
    "api/w/<slug>/imports/<uuidstr:task_id>": _token({"GET": READ}, task_id="import_task.uid"),
    "api/w/<slug>/imports/<uuidstr:task_id>/upload": _token({"POST": WRITE}, task_id="import_task.uid"),
    "api/w/<slug>/imports/<uuidstr:task_id>/apply": _token({"POST": WRITE}, task_id="import_task.uid"),
    "api/w/<slug>/imports/<uuidstr:task_id>/cancel": _token({"POST": WRITE}, task_id="import_task.uid"),
    "api/w/<slug>/imports/<uuidstr:task_id>/undo": _token({"POST": WRITE}, task_id="import_task.uid"),
    "api/w/<slug>/exports": _token({"POST": READ}),
    "api/w/<slug>/exports/<uuidstr:export_id>": _token({"GET": READ}, export_id="export_task.uid"),
    # The world's export never ran, so its file is not ready: 409, past the access check.
    "api/w/<slug>/exports/<uuidstr:export_id>/file": _token({"GET": READ}, frozenset({409}),
                                                            export_id="export_task.uid"),
    "api/w/<slug>/collections": _token({"GET": READ, "POST": WRITE}),
    "api/w/<slug>/collections/<int:collection_id>": _token({"GET": READ, "DELETE": WRITE},
                                                           collection_id="collection.pk"),
    "api/w/<slug>/collections/<int:collection_id>/items": _token({"POST": WRITE}, collection_id="collection.pk"),
    "api/w/<slug>/collections/<int:collection_id>/items/remove": _token({"POST": WRITE},
                                                                        collection_id="collection.pk"),
    "api/w/<slug>/datasets/from_collections": _token({"POST": WRITE}),
    "api/w/<slug>/schema/fields/<name>/rename": _token({"POST": WRITE}, name="=weather"),
    "api/w/<slug>/schema/renames/<int:rename_id>": _token({"GET": READ}, rename_id="field_rename.pk"),
    # Visual Layer's custom-metadata API (the dataset names the workspace).
    "api/v1/datasets/<dataset_id>/custom_metadata/schema": _token({"GET": READ}),
    "api/v1/datasets/<dataset_id>/custom_metadata/tasks": _token({"POST": WRITE}),
    "api/v1/datasets/<dataset_id>/custom_metadata/tasks/<uuidstr:task_id>": _token({"POST": WRITE},
                                                                                    task_id="vl_task.uid"),
    "api/v1/datasets/<dataset_id>/custom_metadata/tasks/<uuidstr:task_id>/status": _token({"GET": READ},
                                                                                          task_id="vl_task.uid"),
    "api/v1/datasets/<dataset_id>/image/<uuidstr:image_id>/custom_metadata": _token({"GET": READ},
                                                                                    image_id="item.uid"),
})
