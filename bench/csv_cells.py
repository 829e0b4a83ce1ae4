#!/usr/bin/env python3
"""CSV cells to typed metadata: the part of a CSV import that reads cell text (no database).

    .venv/bin/python bench/csv_cells.py 100000 --runs 5

The corpus rows (`lib/corpus.py`, the shared generator's rows) are written as CSV cells the way an export writes
them (`imports/exports._csv_cell`), then timed: (a) reading every row's cells into typed metadata (the import's
CSV cell reader), (b) the same followed by `validate_metadata` of the row, as an import's check does. Prints the
median of --runs runs of each, in rows per second. Run it from two checkouts, alternated, to compare them: it
finds the reader under its current name (`csv_metadata`) or its former one (`_csv_metadata`).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path.cwd()
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metadata_site.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rows", type=int)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from metadata_site.imports import kinds
    from metadata_site.imports.exports import _csv_cell
    from metadata_site.lib.corpus import generate, schema_fields
    from metadata_site.schemas.fields import FieldSpec, Schema
    from metadata_site.schemas.validation import validate_metadata

    read = getattr(kinds, "csv_metadata", None) or kinds._csv_metadata
    specs = [FieldSpec.from_dict({"options": [], "is_multi": False, **f}) for f in schema_fields()]
    schema = Schema(version=1, fields={s.name: s for s in specs})
    columns = [s.name for s in specs]
    rows = [
        {s.name: _csv_cell(s.type, s.is_multi, row["metadata"].get(s.name)) for s in specs}
        for row in generate(args.rows)
    ]

    def cells_only() -> None:
        for cells in rows:
            read(schema, cells, columns)

    def cells_and_check() -> None:
        for cells in rows:
            metadata, _ = read(schema, cells, columns)
            validate_metadata(schema, metadata, partial=True)

    for name, run in (("cells read", cells_only), ("cells read + validated", cells_and_check)):
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        print(f"{name}: {', '.join(f'{t:.3f}' for t in times)} s; median {median:.3f} s; {args.rows / median:,.0f} rows/s")


if __name__ == "__main__":
    main()
