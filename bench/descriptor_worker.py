#!/usr/bin/env python3
"""The built-in descriptor's share of the media worker's thumbnail throughput: the worker's own task body
(`media.tasks.make_media_items`: read each stored original, decode, thumbnail, JPEG-encode and store the
thumbnail, write the rows) over N distinct stored JPEGs of each size, with the descriptor as shipped and with
`describe` replaced by a constant, in interleaved rounds; images/s of each and the descriptor's share.

    .venv/bin/python bench/descriptor_worker.py [--db postgres://postgres@127.0.0.1:5432/ms_descriptor_bench]
        [--n 200] [--rounds 5] [--sizes 640x480,1920x1080]

The database is dropped and created again; media go to a temporary directory.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")

from imports import _reset_database  # noqa: E402  (bench/imports.py)
from media import photo  # noqa: E402  (bench/media.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default="postgres://postgres@127.0.0.1:5432/ms_descriptor_bench")
    parser.add_argument("--n", type=int, default=200, help="distinct JPEGs (items) of each size")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="640x480,1920x1080")
    args = parser.parse_args()
    _reset_database(args.db)
    os.environ.update({"DATABASE_URL": args.db, "DATABASE_CONN_MAX_AGE": "0",
                       "MEDIA_ROOT": tempfile.mkdtemp(prefix="ms-descriptor-bench-")})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from metadata_site.media import decode, tasks
    from metadata_site.media.services import item_attach_media, media_store
    from metadata_site.projects.models import Folder
    from metadata_site.workspaces.models import Workspace

    ws = Workspace.objects.create(slug="bench", name="Bench")
    shipped = decode.describe
    constant = shipped(decode.Image.new("RGB", (32, 32)))
    print(f"load average {os.getloadavg()[0]:.1f}; {args.n} items a size, {args.rounds} rounds, best and median")
    for text in args.sizes.split(","):
        size = tuple(int(v) for v in text.split("x"))
        folder = Folder.objects.create(workspace=ws, name=text)
        ids = [item_attach_media(workspace=ws, folder=folder, title=f"{text}-{n}", queue=False,
                                 blob=media_store(data=photo(n, size=size), filename=f"{n}.jpg")).pk
               for n in range(args.n)]
        tasks.make_media_items(ids)  # warm: files cached, code loaded
        rates: dict[str, list[float]] = {"with": [], "without": []}
        for _ in range(args.rounds):
            for mode in ("with", "without"):
                decode.describe = shipped if mode == "with" else (lambda im: constant)
                started = time.perf_counter()
                tasks.make_media_items(ids)
                rates[mode].append(len(ids) / (time.perf_counter() - started))
        decode.describe = shipped
        best = {mode: max(r) for mode, r in rates.items()}
        median = {mode: statistics.median(r) for mode, r in rates.items()}
        print(f"{text} JPEG: {best['without']:.0f} images/s without the descriptor, {best['with']:.0f} with it "
              f"(best: {100 * (1 - best['with'] / best['without']):.1f} % fewer; medians {median['without']:.0f} / "
              f"{median['with']:.0f}: {100 * (1 - median['with'] / median['without']):.1f} %)", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
