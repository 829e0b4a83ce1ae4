"""gunicorn settings for production: `gunicorn -c python:metadata_site.gunicorn metadata_site.wsgi`.

Threaded workers keep HTTP connections alive between requests (gunicorn's default sync workers close the connection
after every response, so a browser loading a grid of thumbnails would open a TCP connection for each). Each thread
keeps its own persistent database connection (`DATABASE_CONN_MAX_AGE`). Override any value on the command line or
with `GUNICORN_CMD_ARGS`.
"""

import os

workers = int(os.environ.get("WEB_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
keepalive = 5  # seconds an idle keep-alive connection stays open
timeout = 60
