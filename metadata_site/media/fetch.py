"""Fetching a user's media URL in the worker, guarded against server-side request forgery.

Only http and https. The host name is resolved once, every address it resolves to is checked, and the connection
goes to a checked address (so a second, different DNS answer cannot swap in an internal one). Loopback, private,
link-local (cloud metadata services at 169.254.169.254 included), shared, multicast, reserved and unspecified
addresses are refused, unless the host is listed in MEDIA_FETCH_ALLOWED_HOSTS. Redirects (at most
MAX_REDIRECTS) are followed by hand, each target checked the same way. Each socket operation times out after
MEDIA_FETCH_TIMEOUT seconds and the whole download must finish within it too; a body larger than
MEDIA_MAX_UPLOAD_BYTES is refused (by its Content-Length, or while reading).
"""

import http.client
import ipaddress
import socket
import ssl
import tempfile
import time
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from metadata_site.lib.errors import MessageError

MAX_REDIRECTS = 5
CHUNK = 256 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024
USER_AGENT = "metadata_site media fetcher"

SCHEME_REFUSED = "only http and https URLs can be fetched, not {scheme!r}"
NO_HOST = "the URL has no host"
RESOLVE_FAILED = "the host {host!r} could not be resolved ({error})"
ADDRESS_REFUSED = "the host {host!r} resolves to {address}, a {what} address, which is not fetched"
TOO_MANY_REDIRECTS = f"more than {MAX_REDIRECTS} redirects"
REDIRECT_WITHOUT_LOCATION = "a redirect without a Location"
HTTP_STATUS = "the server answered {status} {reason}"
TOO_LARGE = "the file is larger than the limit of {limit:,} bytes"
TIMED_OUT = "the download took longer than {seconds} seconds"
CONNECTION_FAILED = "could not download it ({error})"


class FetchError(MessageError):
    """The URL was not fetched; `message` says why."""


def _what(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is refused (None: a public address)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return _what(ip.ipv4_mapped)
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local (cloud metadata)" if str(ip) in ("169.254.169.254", "fe80::a9fe:a9fe") else "link-local"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved or shared"
    return None


def _allowed_host(host: str) -> bool:
    return host.lower().rstrip(".") in {h.lower().rstrip(".") for h in settings.MEDIA_FETCH_ALLOWED_HOSTS}


def resolve_checked(host: str, port: int) -> str:
    """The address to connect to for `host`: every address it resolves to must be public (unless the host is
    allowed by MEDIA_FETCH_ALLOWED_HOSTS); raises FetchError naming the first refused one."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(RESOLVE_FAILED.format(host=host, error=exc)) from None
    addresses = [info[4][0] for info in infos]
    if not addresses:
        raise FetchError(RESOLVE_FAILED.format(host=host, error="no address"))
    if not _allowed_host(host):
        for address in addresses:
            what = _what(ipaddress.ip_address(address.split("%", 1)[0]))
            if what is not None:
                raise FetchError(ADDRESS_REFUSED.format(host=host, address=address, what=what))
    return addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(url: str):
    """Download `url` into a seekable temporary file (the caller closes it); raises FetchError with the reason."""
    timeout = settings.MEDIA_FETCH_TIMEOUT
    limit = settings.MEDIA_MAX_UPLOAD_BYTES
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise FetchError(SCHEME_REFUSED.format(scheme=scheme))
        host = parts.hostname
        if not host:
            raise FetchError(NO_HOST)
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError(CONNECTION_FAILED.format(error=exc)) from None
        address = resolve_checked(host, port)
        cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        conn = cls(host, port, address, timeout)
        try:
            path = parts.path or "/"
            if parts.query:
                path += "?" + parts.query
            conn.request("GET", path, headers={"User-Agent": USER_AGENT, "Accept": "image/*, video/*"})
            response = conn.getresponse()
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location")
                if not location:
                    raise FetchError(REDIRECT_WITHOUT_LOCATION)
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchError(HTTP_STATUS.format(status=response.status, reason=response.reason))
            length = response.getheader("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                raise FetchError(TOO_LARGE.format(limit=limit))
            return _read_body(response, limit, deadline, timeout)
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, TimeoutError | socket.timeout):
                raise FetchError(TIMED_OUT.format(seconds=timeout)) from None
            raise FetchError(CONNECTION_FAILED.format(error=exc)) from None
        finally:
            conn.close()
    raise FetchError(TOO_MANY_REDIRECTS)


def _read_body(response, limit: int, deadline: float, timeout: int):
    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
    try:
        size = 0
        while chunk := response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise FetchError(TOO_LARGE.format(limit=limit))
            if time.monotonic() > deadline:
                raise FetchError(TIMED_OUT.format(seconds=timeout))
            target.write(chunk)
        target.seek(0)
        return target
    except BaseException:
        target.close()
        raise
