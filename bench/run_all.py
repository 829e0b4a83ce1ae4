"""`make bench`: run every benchmark script in bench/ with its defaults, one after another.

    python bench/run_all.py                 # all of them
    python bench/run_all.py load explorer   # only these
    python bench/run_all.py --list

Each script sets up its own database (see its --help; PostgreSQL at 127.0.0.1:5432 by default) and prints
its figures; a failing script is reported and the others still run. Extra arguments for one script:
BENCH_ARGS_<NAME>="..." (e.g. BENCH_ARGS_LOAD="--users 10,50 --duration 60").
"""

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Scripts that need arguments without a default.
DEFAULT_ARGS = {
    "imports": ["--db", "postgres://postgres@127.0.0.1:5432/ms_imports_bench"],
    "metadata_write": ["100000"],
}


def scripts() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_"))


def main() -> int:
    wanted = [a for a in sys.argv[1:] if not a.startswith("-")]
    found = scripts()
    if "--list" in sys.argv:
        print("\n".join(p.stem for p in found))
        return 0
    selected = [p for p in found if not wanted or p.stem in wanted]
    failures = []
    for script in selected:
        extra = shlex.split(os.environ.get(f"BENCH_ARGS_{script.stem.upper()}", ""))
        cmd = [sys.executable, str(script), *DEFAULT_ARGS.get(script.stem, []), *extra]
        print(f"\n=== {script.stem}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.run(cmd, cwd=ROOT).returncode
        print(f"=== {script.stem}: exit {code} after {time.perf_counter() - t0:.0f} s", flush=True)
        if code:
            failures.append(script.stem)
    if failures:
        print(f"\nFailed: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
