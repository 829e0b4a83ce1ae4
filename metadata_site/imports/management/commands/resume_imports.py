"""The former name of `recover_tasks`, kept for scripts: it recovers every kind of background task."""

from .recover_tasks import Command  # noqa: F401
