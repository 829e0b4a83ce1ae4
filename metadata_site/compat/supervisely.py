"""The Supervisely SDK's custom-data protocol: ``POST /public/api/v3/<method>`` with ``x-api-key``.

Served so that ``sly.Api(server_address=<metadata_site>, token=<API token>)`` reads and replaces the custom data of
projects and datasets unchanged (see docs: "Using the Supervisely / Encord SDK"). The key is the user's personal API
token; ids are resolved among the workspaces the token's user belongs to, and a foreign id is 404, exactly like an
unknown one. Writes go through the Info tab's service (`info_save_custom_data`): same validation, revisions and
permissions as the web page.

The SDK retries every 5xx for minutes, so nothing a client sends may end in a 500: every refusal is a 4xx with the
envelope ``{"error": <short>, "details": {"message": <long>}}`` the SDK logs.
"""

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from django.core.exceptions import RequestDataTooBig
from django.db.models import Count
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from metadata_site.accounts.services import api_token_authenticate
from metadata_site.lib import strictjson
from metadata_site.projects.models import Dataset, Project
from metadata_site.projects.services import InfoError, info_save_custom_data
from metadata_site.workspaces.models import Membership, Role

logger = logging.getLogger(__name__)

# The lowest version the 6.74.x SDK accepts without a warning is 6.18.3.
INSTANCE_VERSION = "6.74.0"
MAX_BODY_BYTES = 2 * 1024 * 1024

NO_TOKEN = "Send your metadata_site API token in the x-api-key header (Settings → API tokens)."
BAD_TOKEN = "The API token in x-api-key is unknown or revoked."
NOT_POST = "Supervisely API methods are called with POST."
UNKNOWN_METHOD = "Unknown API method {method!r}. metadata_site serves: {methods}."
BODY_TOO_LARGE = f"The request body is larger than {MAX_BODY_BYTES:,} bytes."
BODY_NOT_JSON = "The request body is not valid JSON: {detail}."
BODY_NOT_OBJECT = "The request body must be a JSON object."
ID_REQUIRED = "The field 'id' is required."
ID_NOT_INTEGER = "The field 'id' must be an integer, got {value}."
CUSTOM_DATA_REQUIRED = "The field 'customData' is required."
CUSTOM_DATA_NOT_OBJECT = "The field 'customData' must be a JSON object, got {kind}."
SILENT_NOT_BOOLEAN = "The field 'silent' must be true or false, got {value}."
READ_ONLY_FIELDS = (
    "metadata_site changes only 'customData' through this method; {fields} cannot be changed here "
    "(rename and describe projects and datasets in the web interface)."
)
NOT_FOUND = "{what} with id {id} was not found."
READ_ONLY_ROLE = "Your role in this workspace is read-only: the custom data cannot be changed."
INTERNAL = "The server could not process this request."

_KINDS = {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number",
          bool: "a boolean", type(None): "null"}


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message


def _error(status: int, error: str, message: str) -> JsonResponse:
    return JsonResponse({"error": error, "details": {"message": message}}, status=status)


def iso_ms(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a Z, as Supervisely writes timestamps."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# --- request parsing -----------------------------------------------------------------------------------------


def _body(request: HttpRequest) -> dict:
    try:
        size = len(request.body)
    except RequestDataTooBig:
        size = MAX_BODY_BYTES + 1
    if size > MAX_BODY_BYTES:
        raise ApiError(413, "Payload too large", BODY_TOO_LARGE)
    try:
        data = strictjson.loads_body(request.body)
    except strictjson.StrictJSONError as exc:
        raise ApiError(400, "Invalid JSON", BODY_NOT_JSON.format(detail=exc.message.rstrip("."))) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ApiError(400, "Invalid JSON", BODY_NOT_OBJECT)
    return data


def _id(body: dict) -> int:
    if "id" not in body:
        raise ApiError(400, "Validation error", ID_REQUIRED)
    value = body["id"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(400, "Validation error", ID_NOT_INTEGER.format(value=json.dumps(value)[:50]))
    return value


def _custom_data(body: dict) -> dict:
    if "customData" not in body:
        raise ApiError(400, "Validation error", CUSTOM_DATA_REQUIRED)
    value = body["customData"]
    if not isinstance(value, dict):
        kind = _KINDS.get(type(value), type(value).__name__)
        raise ApiError(400, "Validation error", CUSTOM_DATA_NOT_OBJECT.format(kind=kind))
    return value


def _silent(body: dict) -> bool:
    value = body.get("silent", False)
    if not isinstance(value, bool):
        raise ApiError(400, "Validation error", SILENT_NOT_BOOLEAN.format(value=json.dumps(value)[:50]))
    return value


def _no_other_edits(body: dict) -> None:
    # `Api.add_additional_field` adds arbitrary keys to every body, so unknown keys are tolerated; these two
    # would be real edits this endpoint does not make.
    fields = [f"'{k}'" for k in ("name", "description") if k in body]
    if fields:
        raise ApiError(400, "Validation error", READ_ONLY_FIELDS.format(fields=" and ".join(fields)))


# --- lookups -------------------------------------------------------------------------------------------------


def _roles(user) -> dict[int, str]:
    return dict(Membership.objects.filter(user=user).values_list("workspace_id", "role"))


def _get(model, pk: int, user, *, write: bool):
    roles = _roles(user)
    qs = model.objects.filter(pk=pk, workspace_id__in=list(roles)).select_related("workspace")
    if model is Project:
        qs = qs.annotate(
            datasets_count=Count("datasets", distinct=True),
            items_count=Count("datasets__memberships__item", distinct=True),
        )
    else:
        qs = qs.annotate(items_count=Count("memberships", distinct=True))
    obj = qs.first()
    if obj is None:
        raise ApiError(404, "Not found", NOT_FOUND.format(what=model.__name__, id=pk))
    if write and not Membership(role=roles[obj.workspace_id]).allows(Role.EDITOR):
        raise ApiError(403, "Forbidden", READ_ONLY_ROLE)
    return obj


def _project_json(project: Project) -> dict:
    return {
        "id": project.pk,
        "name": project.name,
        "description": project.description,
        "readme": project.readme,
        "type": "images",
        "teamId": project.workspace_id,
        "workspaceId": project.workspace_id,
        "datasetsCount": project.datasets_count,
        "itemsCount": project.items_count,
        "imagesCount": project.items_count,
        "createdAt": iso_ms(project.created_at),
        "updatedAt": iso_ms(project.updated_at),
        "customData": project.custom_data,
        "settings": {},
    }


def _dataset_json(dataset: Dataset) -> dict:
    return {
        "id": dataset.pk,
        "name": dataset.name,
        "description": dataset.description,
        "readme": dataset.readme,
        "projectId": dataset.project_id,
        "parentId": None,
        "teamId": dataset.workspace_id,
        "workspaceId": dataset.workspace_id,
        "itemsCount": dataset.items_count,
        "imagesCount": dataset.items_count,
        "createdAt": iso_ms(dataset.created_at),
        "updatedAt": iso_ms(dataset.updated_at),
        "customData": dataset.custom_data,
    }


# --- methods -------------------------------------------------------------------------------------------------


def _info(model, render):
    def method(body: dict, user) -> dict:
        return render(_get(model, _id(body), user, write=False))

    return method


def _edit_info(model, render):
    def method(body: dict, user) -> dict:
        pk = _id(body)
        data = _custom_data(body)
        silent = _silent(body)
        _no_other_edits(body)
        obj = _get(model, pk, user, write=True)
        try:
            info_save_custom_data(obj=obj, data=data, user=user, base_version=None, silent=silent)
        except InfoError as exc:
            raise ApiError(400, "Validation error", _info_error_message(exc)) from None
        return render(_get(model, pk, user, write=False))

    return method


def _info_error_message(exc: InfoError) -> str:
    errors = getattr(exc, "errors", None) or []
    details = "; ".join(
        f"{'/'.join(str(p) for p in e.get('loc', [])) or '(top level)'}: {e.get('msg')}" for e in errors[:10]
    )
    return f"{exc.message} {details}".strip() if details and details not in exc.message else exc.message


def _instance_version(body: dict, user) -> dict:
    return {"version": INSTANCE_VERSION}


METHODS: dict[str, Callable[[dict, object], dict]] = {
    "projects.info": _info(Project, _project_json),
    "projects.editInfo": _edit_info(Project, _project_json),
    "datasets.info": _info(Dataset, _dataset_json),
    "datasets.editInfo": _edit_info(Dataset, _dataset_json),
    "instance.version": _instance_version,
}


@csrf_exempt
def dispatch(request: HttpRequest, method: str) -> JsonResponse:
    handler = METHODS.get(method)
    if handler is None:
        return _error(404, "Not found", UNKNOWN_METHOD.format(method=method[:80], methods=", ".join(METHODS)))
    if request.method != "POST":
        return _error(405, "Method not allowed", NOT_POST)
    raw_token = request.headers.get("X-Api-Key", "")
    if not raw_token:
        return _error(401, "Unauthorized", NO_TOKEN)
    try:
        user = api_token_authenticate(raw=raw_token)
        if user is None:
            return _error(401, "Unauthorized", BAD_TOKEN)
        return JsonResponse(handler(_body(request), user))
    except ApiError as exc:
        return _error(exc.status, exc.error, exc.message)
    except Exception:
        # A 5xx makes the SDK retry for minutes; answer at once and keep the traceback in the log.
        logger.exception("Supervisely %s failed", method)
        return _error(400, "Bad request", INTERNAL)
