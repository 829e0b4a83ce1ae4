"""Settings for metadata_site, read from the environment with safe development defaults.

`DATABASE_URL` selects PostgreSQL (``postgres://user:pass@host:port/name``); without it the
embedded SQLite database in ``var/`` is used, in WAL mode. `DATABASE_REPLICA_URLS` adds PostgreSQL streaming
replicas for the web requests' reads (docs/deployment.md).
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false, 1/0, yes/no), got {value!r}")


def envint(name: str, default: str) -> int:
    value = os.environ.get(name, default)
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


def envfloat(name: str, default: str) -> float:
    value = os.environ.get(name, default)
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if number != number or number < 0 or number == float("inf"):
        raise ImproperlyConfigured(f"{name} must be a number of seconds, 0 or more, got {value!r}")
    return number


DATABASE_ENGINES = {"postgres": "django.db.backends.postgresql", "sqlite": "django.db.backends.sqlite3"}


def database_from_url(url: str, *, variable: str = "DATABASE_URL") -> dict:
    """Turn ``postgres://user:pass@host:port/name?opt=v`` or ``sqlite:///path`` into a DATABASES entry.

    dj-database-url parses the URL; query parameters go to the driver. A SQLite URL's path is absolute, as it always
    was here. `variable` names the setting in error messages.
    """
    scheme = urlsplit(url).scheme
    if scheme not in ("postgres", "postgresql", "pgsql", "sqlite"):
        raise ImproperlyConfigured(f"{variable} must start with postgres:// or sqlite://, got {url!r}")
    try:
        urlsplit(url).port  # noqa: B018 - dj-database-url would say only "not a valid url"
    except ValueError:
        raise ImproperlyConfigured(f"{variable} has a malformed port: {url!r}") from None
    try:
        parsed = dict(dj_database_url.parse(url, conn_max_age=envint("DATABASE_CONN_MAX_AGE", "60"),
                                            conn_health_checks=True))
    except ValueError as exc:
        raise ImproperlyConfigured(f"{variable} is not a valid database URL ({exc}): {url!r}") from None
    if scheme == "sqlite":
        # As before dj-database-url: the URL's path is the file's absolute path (``sqlite:///tmp/x.sqlite3`` is
        # /tmp/x.sqlite3; dj-database-url would read it relative to the working directory).
        path = unquote(urlsplit(url).path)
        return _sqlite(Path(path) if path not in ("", "/") else BASE_DIR / "var" / "db.sqlite3")
    if not parsed["NAME"]:
        raise ImproperlyConfigured(f"{variable} must name a database: {url!r}")
    parsed["PORT"] = str(parsed["PORT"] or "")
    # PostgreSQL's JIT compiles expressions of any query it costs above jit_above_cost: the explorer's facet pass
    # (a few dozen jsonb expressions over 10^5 rows) spent 225 of its 1,000 ms compiling. The app runs short
    # statements only, so it is off unless the URL says. Other query parameters go to psycopg as they are.
    parsed["OPTIONS"] = {"options": "-c jit=off", **parsed.get("OPTIONS", {})}
    return parsed


def replicas_from_urls(urls: list[str], *, primary: dict) -> dict[str, dict]:
    """``replica_0``, ``replica_1``, ... for `DATABASE_REPLICA_URLS`: PostgreSQL streaming replicas of `primary`
    that the web requests' reads go to (metadata_site/db_router.py). A replica that does not answer within
    `DATABASE_REPLICA_CONNECT_TIMEOUT` seconds is skipped. In tests each is a mirror of the test database."""
    if urls and primary["ENGINE"] != DATABASE_ENGINES["postgres"]:
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS needs a PostgreSQL primary: set DATABASE_URL to postgres://...")
    replicas = {}
    for n, url in enumerate(urls):
        replica = database_from_url(url, variable=f"DATABASE_REPLICA_URLS (replica {n + 1})")
        if replica["ENGINE"] != DATABASE_ENGINES["postgres"]:
            raise ImproperlyConfigured(f"DATABASE_REPLICA_URLS (replica {n + 1}) must start with postgres://: {url!r}")
        replica["OPTIONS"].setdefault("connect_timeout", envint("DATABASE_REPLICA_CONNECT_TIMEOUT", "2"))
        replica["TEST"] = {"MIRROR": "default"}
        replicas[f"replica_{n}"] = replica
    return replicas


def _sqlite(path: Path) -> dict:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "OPTIONS": {
            # WAL lets the web server read while the worker writes; IMMEDIATE avoids
            # "database is locked" upgrades inside write transactions.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        # A file, not the in-memory default: the live server of browser tests serves requests from several
        # threads, and an in-memory database shared between them loses sessions under concurrent requests.
        "TEST": {"NAME": os.environ.get("SQLITE_TEST_NAME") or str(BASE_DIR / "var" / "test.sqlite3")},
    }


DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-in-production-0123456789"


def production_secret_key_problem(key: str) -> str | None:
    """Why `key` must not sign sessions in production (None if it may): Django's check W009, enforced at start-up."""
    if key == DEV_SECRET_KEY:
        return "it is the development default"
    if key.startswith("django-insecure-"):
        return "it starts with 'django-insecure-'"
    if len(key) < 50:
        return f"it has {len(key)} characters, at least 50 are needed"
    if len(set(key)) < 5:
        return f"it has only {len(set(key))} different characters, at least 5 are needed"
    return None


DEBUG = envbool("DEBUG", "true")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = DEV_SECRET_KEY
elif not DEBUG and (problem := production_secret_key_problem(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"SECRET_KEY is too weak for DEBUG=false: {problem}. Generate one with "
        "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "ninja",  # serves /api/docs from static files (no CDN, which the CSP would block)
    "metadata_site.accounts",
    "metadata_site.workspaces",
    "metadata_site.schemas",
    "metadata_site.projects",
    "metadata_site.items",
    "metadata_site.media",
    "metadata_site.explorer",
    "metadata_site.collections",
    "metadata_site.imports",
    "metadata_site.api",
    "metadata_site.compat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "metadata_site.middleware.StatementTimeoutMiddleware",
    "metadata_site.db_router.ReplicaReadsMiddleware",  # before sessions, whose row it may read on a replica
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "metadata_site.lib.middleware.RefuseNulMiddleware",  # after CSRF, which has read the form already
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "metadata_site.urls"
WSGI_APPLICATION = "metadata_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {"default": _sqlite(BASE_DIR / "var" / "db.sqlite3")}
# Reads on PostgreSQL streaming replicas, writes on the primary (metadata_site/db_router.py): web requests' reads go
# to a replica lagging at most DATABASE_REPLICA_MAX_LAG_SECONDS (checked every DATABASE_REPLICA_CHECK_SECONDS per
# process; one that is down is tried again after DATABASE_REPLICA_RETRY_SECONDS), except in the
# DATABASE_REPLICA_PIN_SECONDS after a request of the same browser or client wrote (read-your-writes). Writes,
# reads inside a transaction, unsafe methods (POST, ...), the worker and management commands use the primary.
DATABASES.update(replicas_from_urls(envlist("DATABASE_REPLICA_URLS", ""), primary=DATABASES["default"]))
DATABASE_REPLICA_MAX_LAG_SECONDS = envfloat("DATABASE_REPLICA_MAX_LAG_SECONDS", "5")
DATABASE_REPLICA_CHECK_SECONDS = envfloat("DATABASE_REPLICA_CHECK_SECONDS", "2")
DATABASE_REPLICA_RETRY_SECONDS = envfloat("DATABASE_REPLICA_RETRY_SECONDS", "10")
DATABASE_REPLICA_PIN_SECONDS = envfloat("DATABASE_REPLICA_PIN_SECONDS", "10")
if len(DATABASES) > 1 and (
    DATABASE_REPLICA_PIN_SECONDS < DATABASE_REPLICA_MAX_LAG_SECONDS + DATABASE_REPLICA_CHECK_SECONDS
):
    raise ImproperlyConfigured(
        "DATABASE_REPLICA_PIN_SECONDS must be at least DATABASE_REPLICA_MAX_LAG_SECONDS + "
        f"DATABASE_REPLICA_CHECK_SECONDS ({DATABASE_REPLICA_MAX_LAG_SECONDS:g} + {DATABASE_REPLICA_CHECK_SECONDS:g} "
        f"s), got {DATABASE_REPLICA_PIN_SECONDS:g}: a client's reads must stay on the primary until every replica "
        "in use has its write"
    )
DATABASE_ROUTERS = ["metadata_site.db_router.ReplicaRouter"] if len(DATABASES) > 1 else []
(BASE_DIR / "var").mkdir(exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "workspaces:index"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# Media (originals and thumbnails) go to the local filesystem under MEDIA_ROOT, or, when MEDIA_S3_BUCKET is set, to
# an S3-compatible bucket through django-storages (install the `s3` extra); media is then served by redirects to
# presigned URLs that expire after MEDIA_PRESIGNED_SECONDS.
if os.environ.get("MEDIA_S3_BUCKET"):
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["MEDIA_S3_BUCKET"],
            "endpoint_url": os.environ.get("MEDIA_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("MEDIA_S3_REGION") or None,
            "access_key": os.environ.get("MEDIA_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("MEDIA_S3_SECRET_ACCESS_KEY") or None,
            "location": os.environ.get("MEDIA_S3_PREFIX", ""),
            "default_acl": None,  # private objects: every read is a presigned URL
            "querystring_auth": True,
            "querystring_expire": envint("MEDIA_PRESIGNED_SECONDS", "300"),
            "file_overwrite": False,
            "signature_version": "s3v4",
        },
    }
else:
    # FileSystemStorage whose files appear whole or not at all (a killed worker leaves no cut file behind).
    _media_storage = {"BACKEND": "metadata_site.media.storage.AtomicFileSystemStorage"}
STORAGES = {
    "default": _media_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "media/"
# Media (metadata_site.media): the largest uploaded or fetched file, in bytes; the largest image, in pixels (a
# header claiming more is refused before decoding); whether the worker fetches items' media URLs at all; hosts
# whose URLs it may fetch although they resolve to loopback or private addresses (comma-separated host names);
# the fetch timeout, in seconds.
MEDIA_MAX_UPLOAD_BYTES = envint("MEDIA_MAX_UPLOAD_BYTES", str(1024**3))
MEDIA_MAX_IMAGE_PIXELS = envint("MEDIA_MAX_IMAGE_PIXELS", str(64_000_000))
MEDIA_FETCH_URLS = envbool("MEDIA_FETCH_URLS", "true")  # false: items with only a URL are never fetched
MEDIA_FETCH_ALLOWED_HOSTS = envlist("MEDIA_FETCH_ALLOWED_HOSTS", "")
MEDIA_FETCH_TIMEOUT = envint("MEDIA_FETCH_TIMEOUT", "20")
# Look-alikes by an embedding field (metadata_site.media.vectors): where the worker keeps the approximate
# nearest-neighbour index files (one a workspace's embedding field; a local directory shared by the web processes
# and the worker), and from how many candidates on "find similar" uses the index instead of an exact scan.
VECTOR_INDEX_DIR = Path(os.environ.get("VECTOR_INDEX_DIR", BASE_DIR / "var" / "vector-indexes"))
VECTOR_EXACT_MAX = envint("VECTOR_EXACT_MAX", "20000")
# The explorer's kept counts and facets (metadata_site.explorer.cache): files in a local directory shared by every
# web process of a machine, so a filter's first facet pass runs once a machine, not once a process.
EXPLORER_CACHE_DIR = Path(os.environ.get("EXPLORER_CACHE_DIR", BASE_DIR / "var" / "explorer-cache"))
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "explorer": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(EXPLORER_CACHE_DIR / "figures"),  # explorer.cache.TIMEOUT says how long a figure is kept
        # Each write lists the directory to cull it (about 1.5 ms a 2,000 files here): a few thousand figures, the
        # filters a team uses within explorer.cache.TIMEOUT, not more. Past it a third of them, at random, are dropped.
        "OPTIONS": {"MAX_ENTRIES": 3_000},
    },
}
# The most candidates a request compares exactly by an embedding field (no index, or the index cannot answer the
# filter): past it the request is refused with a message instead of reading vectors without bound.
VECTOR_EXACT_SCAN_MAX = envint("VECTOR_EXACT_SCAN_MAX", "100000")
# The most candidates "find similar" by the built-in visual descriptor compares in one request (about 6 µs each).
SIMILAR_SCAN_MAX = envint("SIMILAR_SCAN_MAX", "500000")
# On a storage without local files (an S3-compatible bucket), media is served by a redirect to a presigned URL
# that expires after this many seconds.
MEDIA_PRESIGNED_SECONDS = envint("MEDIA_PRESIGNED_SECONDS", "300")
# A grid's thumbnail URLs carry a ticket bound to the viewer's session, valid for one to two of these periods
# (media/tickets.py): served without a database query.
MEDIA_TICKET_SECONDS = envint("MEDIA_TICKET_SECONDS", "3600")

# Uploads larger than this are streamed to a temporary file, never held in memory. A media file larger than
# MEDIA_MAX_UPLOAD_BYTES stops being read at that size (metadata_site.media.uploads).
FILE_UPLOAD_HANDLERS = [
    "metadata_site.media.uploads.MediaSizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", str(12 * 1024 * 1024))
# The largest import file accepted, in bytes.
# How far in the future an Encord request signature's created time may be (clock skew between client and server).
ENCORD_SIGNATURE_MAX_FUTURE_SECONDS = envint("ENCORD_SIGNATURE_MAX_FUTURE_SECONDS", "30")
IMPORT_MAX_UPLOAD_BYTES = envint("IMPORT_MAX_UPLOAD_BYTES", str(2 * 1024**3))
# Every web request's statements run under PostgreSQL's statement_timeout (metadata_site/middleware.py);
# the worker and management commands do not. 0 turns it off.
DATABASE_STATEMENT_TIMEOUT_MS = envint("DATABASE_STATEMENT_TIMEOUT_MS", "30000")
# Where a worker on SQLite keeps the liveness lock of the task it runs (metadata_site/imports/recovery.py).
TASK_LOCK_DIR = BASE_DIR / "var" / "task-locks"

# work_mem of the explorer's facet statement (each of its parallel processes may use it per hash or bitmap).
EXPLORER_FACETS_WORK_MEM_MB = envint("EXPLORER_FACETS_WORK_MEM_MB", "32")

TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        # "media": thumbnails and properties (metadata_site.media), run by its own worker process.
        "QUEUES": ["default", "media"],
    }
}

# The app's own JavaScript comes from static files; nothing inline runs.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "true")
    CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", "true")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "true")
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Every record is printed once. Django's own default configuration gives the "django" logger a console handler,
# and its records also propagate to the root's: each "Not Found" and autoreload line printed twice. So "django"
# gets no handler of its own (it still logs INFO while DEBUG is on, as Django's default does), and
# "django.server" (runserver's request lines), which configuring "django" resets, is declared again as Django
# declares it: its own timestamped handler, not propagated.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "django.server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO" if DEBUG else "WARNING", "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
