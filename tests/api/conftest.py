import json

import pytest
from django.test import Client

from metadata_site.accounts.services import api_token_create


class ApiClient:
    """A test client that sends `Authorization: Bearer <token>` and JSON bodies."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _call(self, method: str, path: str, data=None, headers=None, **kw):
        hdrs = {**self.headers, **(headers or {})}
        fn = getattr(self.client, method)
        if method in ("get", "delete"):
            return fn(path, data or {}, headers=hdrs, **kw)
        if "content_type" in kw:
            return fn(path, data, headers=hdrs, **kw)
        return fn(path, json.dumps(data) if data is not None else "", content_type="application/json",
                  headers=hdrs, **kw)

    def get(self, path, data=None, **kw):
        return self._call("get", path, data, **kw)

    def post(self, path, data=None, **kw):
        return self._call("post", path, data, **kw)

    def put(self, path, data=None, **kw):
        return self._call("put", path, data, **kw)

    def patch(self, path, data=None, **kw):
        return self._call("patch", path, data, **kw)

    def delete(self, path, data=None, **kw):
        return self._call("delete", path, data, **kw)


@pytest.fixture
def token_for(db):
    def _token(user, name="tests") -> str:
        return api_token_create(user=user, name=name)[1]

    return _token


@pytest.fixture
def api_as(token_for):
    """api_as(user) → an ApiClient authenticated with a fresh token of `user` (None: anonymous)."""

    def _client(user) -> ApiClient:
        return ApiClient(token_for(user) if user is not None else None)

    return _client


def assert_error_shape(resp, status: int) -> dict:
    assert resp.status_code == status, resp.content
    body = resp.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    for e in body["errors"]:
        assert isinstance(e["loc"], list) and isinstance(e["msg"], str)
    return body
