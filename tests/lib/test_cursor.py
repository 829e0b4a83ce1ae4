"""The one paging-cursor codec: what it round-trips and what it refuses, always with the same message."""

import base64

import pytest

from metadata_site.lib import cursor
from metadata_site.lib.cursor import CURSOR_INVALID, MAX_CURSOR_LENGTH, CursorError
from metadata_site.lib.errors import MessageError


@pytest.mark.parametrize(
    "value",
    [{"after": 12}, {"offset": 0}, [None, 5], ["name", True, "Ünïcode ✓", 3], [1.5, 2], [-3, 9], "x"],
)
def test_a_value_comes_back_from_its_cursor(value):
    token = cursor.encode(value)
    assert token.isascii() and "=" not in token and "+" not in token and "/" not in token
    assert cursor.decode(token) == value


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "!!!",
        "garbage",  # decodes to bytes that are not JSON
        "e30=x",  # padding in the middle
        "e3 0",  # a space inside: lenient base64 would skip it
        "é",
        _b64(b"NaN"),
        _b64(b"[Infinity, 1]"),
        _b64(b"\xff\xfe"),
        _b64(b"[" * 5000),
        "A" * (MAX_CURSOR_LENGTH + 1),
    ],
)
def test_anything_but_a_cursor_is_refused_with_one_message(token):
    with pytest.raises(CursorError) as err:
        cursor.decode(token)
    assert err.value.message == CURSOR_INVALID


def test_the_cursor_error_carries_a_user_message():
    assert issubclass(CursorError, MessageError)
