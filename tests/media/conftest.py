import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test stores its media in its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


class _Handler(BaseHTTPRequestHandler):
    """Routes: /file/<name> serves server.files[name]; /redirect?to=<url>; /status/<code>; /slow (sleeps);
    /chunked/<name> serves a file without Content-Length; /loop redirects to itself."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        server.requests.append((self.path, self.headers.get("Host")))
        parts = urlsplit(self.path)
        if parts.path.startswith("/file/"):
            body = server.files[parts.path[6:]]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Type", "text/html")  # never trusted
            self.end_headers()
            self.wfile.write(body)
        elif parts.path.startswith("/chunked/"):
            body = server.files[parts.path[9:]]
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        elif parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts.path == "/loop":
            self.send_response(301)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif parts.path == "/slow":
            time.sleep(3)
            self.send_response(200)
            self.end_headers()
        else:
            code = int(parts.path.rsplit("/", 1)[-1]) if parts.path.startswith("/status/") else 404
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture
def media_server():
    """A real HTTP server on a loopback port, serving `files`; its URL uses the host name "localhost"."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.files = {}
    server.requests = []
    server.url = f"http://localhost:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
