"""Reads over the whole workspace that no single app owns: the Tasks page's list of every kind of background task."""

from __future__ import annotations

from dataclasses import dataclass

from metadata_site.lib.taskmodel import BackgroundTask, task_models

from .models import Workspace

TASKS_PAGE_SIZE = 25


@dataclass
class TaskPage:
    tasks: list[BackgroundTask]
    number: int
    total: int
    page_size: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number * self.page_size < self.total

    @property
    def last(self) -> int:
        return max(1, -(-self.total // self.page_size))


def workspace_tasks(*, workspace: Workspace, page: int = 1, page_size: int = TASKS_PAGE_SIZE,
                    count: bool = True) -> TaskPage:
    """Page `page` (from 1) of every background task of `workspace`, whatever its kind, newest first.

    Each kind is its own table, so each gives its newest `page * page_size` rows (index `<kind>_recent` on
    workspace, -created_at) and they are merged here: two queries a kind (one without `count`, which leaves
    `total` at 0), whatever the page, and rows read grow with the page number (the Tasks page is about recent
    work; older pages are rarely read)."""
    page = max(1, page)
    wanted = page * page_size
    rows: list[BackgroundTask] = []
    total = 0
    for model in task_models():
        mine = model.objects.filter(workspace=workspace)
        if count:
            total += mine.count()
        related = ("created_by", "workspace", *model.list_related)
        rows.extend(mine.select_related(*related).order_by("-created_at", "-pk")[:wanted])
    rows.sort(key=lambda t: (t.created_at, t._meta.label, t.pk), reverse=True)
    return TaskPage(tasks=rows[wanted - page_size:wanted], number=page, total=total, page_size=page_size)
