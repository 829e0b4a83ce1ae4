import os

import pytest

from .sdk_env import SdkUnavailable, ensure_venv


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
