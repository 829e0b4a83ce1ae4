"""items:thumbnail with media: the worker's thumbnail (WebP), cached for good under its version; the generated
placeholder only for items without one; a stranger gets 404."""

import pytest
from django.urls import reverse

from metadata_site.media.selectors import item_thumbnail_url
from tests.factories import make_folder, make_item

from .helpers import image_bytes, uploaded

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(workspace):
    return uploaded(workspace, image_bytes(800, 600), "cat.jpg")


@pytest.mark.parametrize("who", ["owner", "member"])
def test_members_get_the_real_thumbnail_with_its_type(request, login, item, who):
    response = login(request.getfixturevalue(who)).get(reverse("items:thumbnail", args=["acme", item.uid]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content)[:3] == b"\xff\xd8\xff"


def test_a_transparent_image_gets_a_webp_thumbnail_served_as_webp(login, owner, workspace):
    png = uploaded(workspace, image_bytes(64, 64, fmt="PNG", mode="RGBA", color=(0, 0, 255, 90)), "glass.png")
    response = login(owner).get(reverse("items:thumbnail", args=["acme", png.uid]))
    assert response["Content-Type"] == "image/webp"
    assert b"".join(response.streaming_content)[8:12] == b"WEBP"


def test_a_stranger_gets_404(login, stranger, item):
    assert login(stranger).get(reverse("items:thumbnail", args=["acme", item.uid])).status_code == 404


def test_the_versioned_url_is_cached_for_a_year_and_the_plain_one_revalidates(login, owner, item):
    client = login(owner)
    versioned = item_thumbnail_url(slug="acme", item=item)
    assert "?v=" in versioned
    assert client.get(versioned)["Cache-Control"] == "private, max-age=31536000, immutable"
    plain = client.get(reverse("items:thumbnail", args=["acme", item.uid]))
    assert plain["Cache-Control"] == "private, no-cache"
    assert client.get(versioned, headers={"If-None-Match": plain["ETag"]}).status_code == 304


def test_an_item_without_media_still_gets_the_placeholder(login, owner, workspace):
    plain = make_item(make_folder(workspace), "no-media.jpg")
    response = login(owner).get(reverse("items:thumbnail", args=["acme", plain.uid]))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert item_thumbnail_url(slug="acme", item=plain) == reverse("items:thumbnail", args=["acme", plain.uid])


def test_a_stored_thumbnail_costs_three_queries_session_user_and_item_with_membership(login, owner, item,
                                                                                     django_assert_num_queries):
    client = login(owner)
    url = item_thumbnail_url(slug="acme", item=item)
    with django_assert_num_queries(3):
        response = client.get(url)
    assert response.status_code == 200
