"""(Re)make the thumbnails and media properties of a workspace's items.

    manage.py thumbnails --workspace demo              # every item with media, now, in this process
    manage.py thumbnails --workspace demo --missing    # only items without a thumbnail yet (pending, error, new)
                                                       # or images without a visual descriptor yet
    manage.py thumbnails --workspace demo --queue      # hand them to the media worker instead
"""

import time

from django.core.management.base import BaseCommand
from django.db.models import Q

from metadata_site.items.models import Item, MediaStatus
from metadata_site.media.services import item_queue_media
from metadata_site.media.tasks import make_media_items
from metadata_site.workspaces.commands import command_workspace

BATCH = 200


class Command(BaseCommand):
    help = "Make the thumbnails and media properties of a workspace's items (what the media worker does)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--missing", action="store_true", help="only items that have no thumbnail (or, images, no visual descriptor) yet")
        parser.add_argument("--queue", action="store_true", help="queue them for the media worker instead")

    def handle(self, *args, workspace: str, missing: bool, queue: bool, **options):
        ws = command_workspace(workspace)
        items = Item.objects.filter(workspace=ws)
        if missing:
            items = items.filter(
                Q(thumbnail_name="") | Q(phash__isnull=True, media_status=MediaStatus.READY, content_type__startswith="image/")
            )
        if queue:
            count = item_queue_media(items=items)
            self.stdout.write(f"queued {count} items for the media worker")
            return
        ids = list(items.exclude(blob__isnull=True, media_url="").order_by("id").values_list("id", flat=True))
        started = time.perf_counter()
        counts: dict[str, int] = {}
        for start in range(0, len(ids), BATCH):
            for status, n in make_media_items(ids[start:start + BATCH]).items():
                counts[status] = counts.get(status, 0) + n
            done = min(start + BATCH, len(ids))
            self.stdout.write(f"{done}/{len(ids)} items", ending="\r" if done < len(ids) else "\n")
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"
        self.stdout.write(f"{summary} in {time.perf_counter() - started:.1f} s")
