"""Video keyframes: the frame items of a video kept in step with its metadata's `keyframes`."""

from collections.abc import Iterable
from typing import Any

from metadata_site.schemas.validation import KEYFRAMES
from metadata_site.workspaces.models import Workspace

from ..models import Item
from .create import NewItem, items_create_bulk

KEYFRAME_TITLE = {"frame": "{video} · frame {n}", "seconds": "{video} · {n} s"}
FIRST_FRAME = 0


def video_frames_wanted(metadata: Any, config: dict | None) -> set[int]:
    """The frames of interest of a video: its keyframes, and its first frame when its import config's sampling
    rate is 0 ("only the first frame and the keyframes")."""
    keyframes = metadata.get(KEYFRAMES) if isinstance(metadata, dict) else None
    wanted = {
        int(k) for k in keyframes if not isinstance(k, bool) and isinstance(k, int | float) and k >= 0 and int(k) == k
    } if isinstance(keyframes, list) else set()
    if config and config.get("sampling_rate") == 0:
        wanted.add(FIRST_FRAME)
    return wanted


def video_keyframes_sync(*, workspace: Workspace, item_ids: Iterable[int]) -> int:
    """Keep the keyframe items of the videos among `item_ids` in step with their metadata's `keyframes` (and
    their import config): each frame of interest is an item of kind frame under its video (`parent`,
    `frame_index` the keyframe), with metadata of its own. A missing one is created; one whose keyframe was
    removed is deleted when it holds no metadata, and kept otherwise (its metadata is never lost). Runs in the
    caller's transaction; returns the number of items created."""
    ids = list(item_ids)
    if not ids:
        return 0
    videos = list(
        Item.objects.filter(workspace=workspace, pk__in=ids, kind="video")
        .values_list("pk", "folder_id", "title", "client_metadata", "video_config")
    )
    if not videos:
        return 0
    present: dict[int, dict[int, tuple[int, Any]]] = {pk: {} for pk, *_ in videos}
    for parent_id, index, pk, md in Item.objects.filter(parent_id__in=list(present)).values_list(
        "parent_id", "frame_index", "pk", "client_metadata"
    ):
        present[parent_id][index] = (pk, md)
    create: dict[int, list[NewItem]] = {}
    stale: list[int] = []
    for pk, folder_id, title, metadata, config in videos:
        wanted = video_frames_wanted(metadata, config)
        label = KEYFRAME_TITLE.get((config or {}).get("keyframe_mode"), KEYFRAME_TITLE["frame"])
        for n in sorted(wanted - set(present[pk])):
            name = label.format(video=title, n=n)[:500]
            create.setdefault(folder_id, []).append(NewItem(name, "frame", "", {}, pk, n))
        stale += [frame_pk for n, (frame_pk, md) in present[pk].items() if n not in wanted and not md]
    if stale:
        Item.objects.filter(workspace=workspace, pk__in=stale).delete()
    return sum(len(items_create_bulk(workspace=workspace, folder_id=f, items=new)) for f, new in create.items())
