"""The JSON API at /api/: one NinjaAPI instance; one router per resource in `routers/`.

OpenAPI 3 at /api/openapi.json, interactive docs at /api/docs.
"""

from ninja import NinjaAPI
from ninja.parser import Parser

from .auth import api_auth
from .bodies import json_value
from .errors import install_error_handlers
from .routers import changesets, collections, imports, items, media, projects, schema, visual_layer, workspaces


class StrictParser(Parser):
    """Schema-typed bodies are parsed by the same rules as every JSON a user writes (no duplicate keys, no
    NaN/Infinity, depth at most 64, no NUL or unpaired surrogates); ninja turns the refusal into an HttpError
    caused by our ApiError, whose message the error handler keeps."""

    def parse_body(self, request):
        return json_value(request)


api = NinjaAPI(
    parser=StrictParser(),
    title="metadata_site API",
    version="1",
    urls_namespace="api",
    auth=api_auth,
    description=(
        "Custom data, item metadata, schemas, imports and collections of metadata_site.\n\n"
        "Authenticate with `Authorization: Bearer <token>` (create a token on your settings page, "
        "or `manage.py create_api_token <username>`). Errors are always "
        '`{"detail": "...", "errors": [{"loc": [...], "msg": "..."}]}`.'
    ),
)
install_error_handlers(api)


@api.get("/health", tags=["meta"], auth=None)
def health(request) -> dict:
    return {"status": "ok"}


api.add_router("", workspaces.router)
api.add_router("", projects.router)
api.add_router("", items.router)
api.add_router("", schema.router)
api.add_router("", changesets.router)
api.add_router("", imports.router)
api.add_router("", visual_layer.router)
api.add_router("", collections.router)
api.add_router("", media.router)
