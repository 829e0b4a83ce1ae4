"""The media:original view: members get the stored original, streamed, with ETag, Range and nosniff;
a stranger gets 404."""

import pytest
from django.urls import reverse

from tests.factories import make_folder, make_item

from .helpers import uploaded, video_bytes

pytestmark = pytest.mark.django_db

DATA = video_bytes()


@pytest.fixture
def item(workspace):
    return uploaded(workspace, DATA, "clip.mp4", make=False)


def _url(item):
    return reverse("media:original", args=[item.workspace.slug, item.uid])


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("who", ["owner", "member"])
def test_members_get_the_original_bytes_with_its_sniffed_type(request, login, item, who):
    response = login(request.getfixturevalue(who)).get(_url(item))
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(DATA))
    assert _body(response) == DATA


def test_a_stranger_gets_404(login, stranger, item):
    assert login(stranger).get(_url(item)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_log_in(client, item):
    response = client.get(_url(item))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_item_without_a_stored_original_is_404(login, owner, workspace):
    other = make_item(make_folder(workspace), "url-only.jpg", media_url="https://example.org/a.jpg")
    assert login(owner).get(_url(other)).status_code == 404


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, len(DATA) - 1), ("bytes=-50", len(DATA) - 50, len(DATA) - 1),
     ("bytes=10-99999999", 10, len(DATA) - 1)],
)
def test_a_range_request_gets_206_and_exactly_those_bytes(login, owner, item, header, start, end):
    response = login(owner).get(_url(item), headers={"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert _body(response) == DATA[start:end + 1]


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", "bytes=-0", "bytes=abc", "bytes=9-3", "items=0-1"])
def test_a_bad_or_unsatisfiable_range_gets_416_naming_the_size(login, owner, item, header):
    response = login(owner).get(_url(item), headers={"Range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(DATA)}"
    assert header[:5] in response.content.decode()


def test_the_etag_is_the_content_hash_and_a_match_gets_304(login, owner, item):
    client = login(owner)
    first = client.get(_url(item))
    assert first["ETag"] == f'"{item.blob.sha256}"'
    assert first["Cache-Control"] == "private, no-cache"
    again = client.get(_url(item), headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_if_range_with_an_old_etag_gets_the_whole_file(login, owner, item):
    response = login(owner).get(_url(item), headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert response.status_code == 200 and _body(response) == DATA


def test_a_post_is_refused(login, owner, item):
    assert login(owner).post(_url(item)).status_code == 405


def test_a_head_request_gets_the_headers_only(login, owner, item):
    response = login(owner).head(_url(item))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(DATA)) and response["Accept-Ranges"] == "bytes"


def test_the_original_costs_three_queries_session_user_and_item_with_membership_and_blob(login, owner, item,
                                                                                        django_assert_num_queries):
    client, url = login(owner), _url(item)
    with django_assert_num_queries(3):
        response = client.get(url)
    assert response.status_code == 200
