"""The API's cursor: what `decode_cursor` accepts and refuses (the pages themselves are tested per endpoint)."""

import pytest

from metadata_site.api.errors import ApiError
from metadata_site.api.pagination import INVALID_CURSOR, decode_cursor
from metadata_site.lib import cursor


def test_a_cursor_the_api_wrote_is_read_back():
    assert decode_cursor(cursor.encode({"after": 41})) == {"after": 41}
    assert decode_cursor(None) == {} and decode_cursor("") == {}


@pytest.mark.parametrize(
    "value", [{"after": -1}, {"after": "3"}, {"after": True}, {"offset": 1.5}, [1], "after"],
)
def test_a_well_encoded_cursor_of_the_wrong_shape_is_a_400(value):
    with pytest.raises(ApiError) as err:
        decode_cursor(cursor.encode(value))
    assert err.value.status == 400
    assert err.value.detail == INVALID_CURSOR
