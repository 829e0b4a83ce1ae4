"""Thumbnail tickets (media/tickets.py): a page that checked membership gives each stored thumbnail a URL bound to the
viewer's session, served without a database query; any other session, no session, an expired or altered ticket
goes through the membership check (a stranger gets 404, a signed-out browser the login page)."""

import re
import time
from html import unescape

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from metadata_site.media import tickets
from metadata_site.workspaces.models import Membership

from .helpers import image_bytes, uploaded, video_bytes

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def item(workspace):
    return uploaded(workspace, image_bytes(800, 600), "cat.jpg")


def _explorer_thumb_urls(client: Client) -> list[str]:
    html = client.get(reverse("explorer:explore", args=["acme"])).content.decode()
    return [unescape(u) for u in re.findall(r'src="([^"]*/thumb\.png\?v=[^"]*)"', html)]


def _thumb_url_in_grid(client: Client, item) -> str:
    [url] = [u for u in _explorer_thumb_urls(client) if str(item.uid) in u]
    return url


@pytest.mark.parametrize("who", ["owner", "member"])
def test_a_members_grid_thumbnail_is_served_without_a_database_query(request, item, who,
                                                                     django_assert_num_queries):
    client = _client(request.getfixturevalue(who))
    [url] = _explorer_thumb_urls(client)
    assert "&t=" in url and "&n=" in url
    with django_assert_num_queries(0):
        response = client.get(url)
        body = b"".join(response.streaming_content)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg" and body[:3] == b"\xff\xd8\xff"
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"


def test_a_stranger_with_a_members_ticketed_url_gets_404(owner, stranger, item):
    url = _thumb_url_in_grid(_client(owner), item)
    assert _client(stranger).get(url).status_code == 404


def test_a_signed_out_browser_with_a_ticketed_url_is_sent_to_log_in(owner, item):
    url = _thumb_url_in_grid(_client(owner), item)
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse(settings.LOGIN_URL))


def test_a_session_that_logged_out_no_longer_passes_with_its_old_ticket(owner, stranger, item):
    client = _client(owner)
    url = _thumb_url_in_grid(client, item)
    client.logout()
    client.force_login(stranger)  # the same browser, another account: a new session key
    assert client.get(url).status_code == 404


def test_an_expired_ticket_falls_back_to_the_membership_check(monkeypatch, owner, viewer, workspace, item,
                                                              django_assert_max_num_queries):
    client = _client(viewer)
    url = _thumb_url_in_grid(client, item)
    later = time.time() + 2 * 3600 + 5  # two periods later (MEDIA_TICKET_SECONDS is an hour)
    monkeypatch.setattr(tickets.time, "time", lambda: later)
    assert tickets.redeem(client.get(url).wsgi_request, slug="acme", uid=item.uid) is None
    assert client.get(url).status_code == 200  # still a member: served after the check
    Membership.objects.filter(user=viewer, workspace=workspace).delete()
    assert client.get(url).status_code == 404


def test_a_ticket_still_in_its_period_survives_for_a_removed_member_as_the_docs_say(owner, viewer, workspace, item):
    client = _client(viewer)
    url = _thumb_url_in_grid(client, item)
    Membership.objects.filter(user=viewer, workspace=workspace).delete()
    assert client.get(url).status_code == 200  # the documented bound: at most two periods
    plain = reverse("items:thumbnail", args=["acme", item.uid])
    assert client.get(plain).status_code == 404  # without the ticket the check applies at once


def test_a_ticket_cannot_be_moved_to_another_file_or_item(owner, workspace, item):
    other = uploaded(workspace, image_bytes(300, 300, color=(0, 200, 0)), "green.jpg")
    client = _client(owner)
    url = _thumb_url_in_grid(client, item)
    other_file = other.thumbnail_name.rsplit("/", 1)[-1]
    forged = re.sub(r"n=[^&]+", f"n={other_file}", url)
    request = client.get(forged).wsgi_request
    assert tickets.redeem(request, slug="acme", uid=item.uid) is None
    moved = url.replace(str(item.uid), str(other.uid))
    assert tickets.redeem(client.get(moved).wsgi_request, slug="acme", uid=other.uid) is None
    # Both still answer for a member, through the check, each with its own item's thumbnail.
    served = b"".join(client.get(forged).streaming_content)
    assert served == b"".join(client.get(reverse("items:thumbnail", args=["acme", item.uid])).streaming_content)


@pytest.mark.parametrize("bad", ["../../settings.py", "x" * 64 + ".jpg", "A" * 64 + ".jpg", "a" * 64 + ".png"])
def test_a_malformed_ticketed_name_is_never_a_path(owner, item, bad):
    client = _client(owner)
    url = re.sub(r"n=[^&]+", f"n={bad}", _thumb_url_in_grid(client, item))
    assert tickets.redeem(client.get(url).wsgi_request, slug="acme", uid=item.uid) is None


def test_a_videos_keyframes_on_its_page_are_ticketed_and_served_without_a_query(owner, workspace,
                                                                               django_assert_num_queries):
    video = uploaded(workspace, video_bytes(gop=10), "clip.mp4")
    client = _client(owner)
    html = client.get(reverse("items:item", args=["acme", video.uid])).content.decode()
    urls = [unescape(u) for u in re.findall(r'"([^"]*/keyframes/\d+\?v=[^"]*)"', html)]
    assert len(urls) == 5 and all("&t=" in u for u in urls)
    with django_assert_num_queries(0):
        response = client.get(urls[2])
        body = b"".join(response.streaming_content)
    assert response.status_code == 200 and body[:3] == b"\xff\xd8\xff"
    assert Client().get(urls[2]).status_code == 302  # signed out: the login page

