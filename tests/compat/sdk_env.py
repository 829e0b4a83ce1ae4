"""Vendor SDKs in their own pinned virtualenvs, cached outside the repository, run as subprocesses.

The Supervisely SDK pulls in about 840 MB of dependencies, so each SDK's virtualenv is created once under
``~/.cache/metadata_site/sdk-venvs/<sdk>-<version>-py<python>`` (``METADATA_SITE_SDK_CACHE`` moves it) and reused
while its pinned version is installed. Under ``CI=true`` an install that fails fails the test; elsewhere it skips it
with the reason.

Also usable by hand, to warm the cache: ``python tests/compat/sdk_env.py supervisely encord``.
"""

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPTS_DIR = Path(__file__).resolve().parent / "sdk_scripts"


@dataclass(frozen=True)
class Sdk:
    name: str  # the PyPI distribution
    version: str
    python: str  # the interpreter version the virtualenv is built with


SDKS = {
    "supervisely": Sdk("supervisely", "6.74.51", "3.12"),
    "encord": Sdk("encord", "0.1.211", "3.12"),
}

INSTALL_TIMEOUT = 40 * 60
MARKER = ".metadata_site-installed"


class SdkUnavailable(Exception):
    """The SDK's virtualenv could not be created or installed; the message says why."""


def cache_root() -> Path:
    custom = os.environ.get("METADATA_SITE_SDK_CACHE")
    if custom:
        return Path(custom).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "metadata_site" / "sdk-venvs"


def find_python(version: str) -> str | None:
    """An interpreter of `version`: `pythonX.Y` on PATH, else pyenv's, else this one if it matches."""
    found = shutil.which(f"python{version}")
    if found and _reports_version(found, version):
        return found
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    for candidate in sorted((pyenv_root / "versions").glob(f"{version}.*/bin/python{version}"), reverse=True):
        if _reports_version(str(candidate), version):
            return str(candidate)
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    return None


def _reports_version(python: str, version: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def venv_dir(sdk: Sdk) -> Path:
    return cache_root() / f"{sdk.name}-{sdk.version}-py{sdk.python}"


def venv_python(sdk: Sdk) -> Path:
    return venv_dir(sdk) / "bin" / "python"


def _installed_version(python: Path, dist: str) -> str | None:
    if not python.exists():
        return None
    out = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({dist!r}))"],
        capture_output=True, text=True, timeout=120,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def ensure_venv(name: str, *, log=None) -> Path:
    """The python of `name`'s pinned virtualenv, creating it first if needed. Raises SdkUnavailable."""
    sdk = SDKS[name]
    target = venv_dir(sdk)
    marker = target / MARKER
    if marker.exists():
        return venv_python(sdk)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be installing the same SDK
        if marker.exists():
            return venv_python(sdk)
        if _installed_version(venv_python(sdk), sdk.name) == sdk.version:
            marker.write_text(json.dumps({"version": sdk.version}))
            return venv_python(sdk)
        python = find_python(sdk.python)
        if python is None:
            raise SdkUnavailable(f"{sdk.name}=={sdk.version} needs Python {sdk.python}, which was not found")
        if target.exists():
            shutil.rmtree(target)
        started = time.monotonic()
        steps = [
            [python, "-m", "venv", str(target)],
            [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             f"{sdk.name}=={sdk.version}"],
        ]
        for step in steps:
            try:
                out = subprocess.run(step, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
            except subprocess.TimeoutExpired:
                raise SdkUnavailable(f"installing {sdk.name}=={sdk.version} took over {INSTALL_TIMEOUT} s") from None
            if out.returncode != 0:
                tail = "\n".join((out.stderr or out.stdout).strip().splitlines()[-15:])
                raise SdkUnavailable(f"`{' '.join(step[-3:])}` failed (exit {out.returncode}):\n{tail}")
        if _installed_version(venv_python(sdk), sdk.name) != sdk.version:
            raise SdkUnavailable(f"{sdk.name}=={sdk.version} is not importable after installing it")
        marker.write_text(json.dumps({"version": sdk.version, "install_seconds": round(time.monotonic() - started)}))
        if log:
            log(f"installed {sdk.name}=={sdk.version} in {time.monotonic() - started:.0f} s into {target}")
    return venv_python(sdk)


def sdk_subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for an SDK script: no proxy for the local live server, no HTTPS probe, fast retries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "PYTHON"))}
    env.update(
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        SUPERVISELY_SKIP_HTTPS_USER_HELPER_CHECK="1",
        # A 5xx would be retried for minutes with the default 1 s base; the tests want its RetryError at once.
        SUPERVISELY_PUBLIC_API_RETRY_SLEEP_SEC="0",
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


def run_script(python: Path, script: str, payload: dict, *, timeout: int = 300, env: dict | None = None) -> dict:
    """Run `sdk_scripts/<script>` with `payload` as JSON on stdin; return the JSON it prints last.

    The scripts print one JSON object on their last stdout line: a dict of step name → observed result.
    """
    out = subprocess.run(
        [str(python), str(SCRIPTS_DIR / script)],
        input=json.dumps(payload), capture_output=True, text=True, timeout=timeout,
        env=sdk_subprocess_env(**(env or {})), cwd=str(SCRIPTS_DIR),
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise AssertionError(
            f"{script} exited {out.returncode}\n--- stdout\n{out.stdout[-4000:]}\n--- stderr\n{out.stderr[-8000:]}"
        )
    return json.loads(lines[-1])


if __name__ == "__main__":
    for arg in sys.argv[1:] or list(SDKS):
        t0 = time.monotonic()
        print(ensure_venv(arg, log=print), f"({time.monotonic() - t0:.1f} s)")
