import json
import os
from urllib.parse import urlencode

import pytest

from metadata_site.compat.models import SshKey

from .sdk_env import SdkUnavailable, ensure_venv
from .signing import key_hex, new_key, openssh_public, v2_headers

V2 = "/v2/public/"


def _sdk_python(name: str):
    try:
        return ensure_venv(name)
    except SdkUnavailable as exc:
        message = f"the {name} SDK is unavailable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def supervisely_python():
    """The python of the pinned Supervisely SDK's cached virtualenv (installed on first use)."""
    return _sdk_python("supervisely")


@pytest.fixture(scope="session")
def encord_python():
    """The python of the pinned Encord SDK's cached virtualenv (installed on first use)."""
    return _sdk_python("encord")


@pytest.fixture
def keys(owner, editor, viewer, stranger, workspace):
    """A registered key per user."""
    out = {}
    for user in (owner, editor, viewer, stranger):
        key = new_key()
        SshKey.objects.create(user=user, name=user.username, key_hex=key_hex(key), public_key=openssh_public(key),
                              fingerprint="x")
        out[user.username] = key
    return out


@pytest.fixture
def v2(client):
    def _call(key, method, path, *, params=None, body=None, sign_key=None, created=None, tamper=None):
        target = V2 + path + (("?" + urlencode(params, doseq=True)) if params else "")
        raw = json.dumps(body).encode() if body is not None else b""
        headers = v2_headers(sign_key or key, method, target, raw, created=created,
                             key_id=key_hex(key) if key is not None else None) if key or sign_key else {}
        if tamper:
            headers = tamper(headers)
        return client.generic(method, target, data=raw, content_type="application/json", headers=headers)

    return _call
