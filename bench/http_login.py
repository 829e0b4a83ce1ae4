"""A logged-in HTTP opener for the benchmarks that go through a running server (user demo / demo, as `seed_demo`
creates it): the standard library only, cookies kept, so several threads may share it."""

import re
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlencode


def login(base: str, username: str = "demo", password: str = "demo") -> urllib.request.OpenerDirector:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    request = urllib.request.Request(
        f"{base}/accounts/login/",
        data=urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode(),
        headers={"Referer": f"{base}/accounts/login/"},
    )
    opener.open(request).read()
    if not any(c.name == "sessionid" for c in jar):
        raise SystemExit(f"login failed (user {username} / {password})")
    return opener
