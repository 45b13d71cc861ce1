"""Make sure the browser tests have a real Chromium before pytest starts.

The browser test fails (never skips) without Chromium, so `make pytest` runs this first: when the
browser named by STOCKWIZ_CHROMIUM (default /usr/bin/chromium) is missing, it installs Debian's
`chromium` package with apt-get if running as root, and otherwise stops with a message that says
what to do. Run as a script (`python tools/ensure_chromium.py`) or as `python -m tools.ensure_chromium`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence

DEFAULT_CHROMIUM = "/usr/bin/chromium"
APT_PACKAGE = "chromium"


def chromium_path() -> str:
    return os.environ.get("STOCKWIZ_CHROMIUM", DEFAULT_CHROMIUM)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _run(command: Sequence[str]) -> int:
    print("+ " + " ".join(command), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    return subprocess.run(list(command), env=env, check=False).returncode


def ensure_chromium(
    path: str | None = None,
    *,
    root: bool | None = None,
    run: Callable[[Sequence[str]], int] = _run,
    has_apt: Callable[[], bool] = lambda: shutil.which("apt-get") is not None,
) -> str:
    """Return the browser path, installing Chromium when needed; raise SystemExit with a message if not."""
    target = path or chromium_path()
    if os.access(target, os.X_OK):
        return target
    if not (is_root() if root is None else root):
        raise SystemExit(
            f"Chromium is missing at {target}; the browser tests need it.\n"
            f"Install it with `sudo apt-get update && sudo apt-get install -y {APT_PACKAGE}`,\n"
            "or point STOCKWIZ_CHROMIUM at an existing Chromium binary."
        )
    if not has_apt():
        raise SystemExit(
            f"Chromium is missing at {target} and apt-get is not available to install it; "
            "install Chromium and set STOCKWIZ_CHROMIUM to its path."
        )
    # A fresh container has empty package lists, so the install needs an update first.
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", APT_PACKAGE],
    ):
        if run(command) != 0:
            raise SystemExit(f"`{' '.join(command)}` failed; Chromium could not be installed.")
    if not os.access(target, os.X_OK):
        raise SystemExit(f"apt-get installed {APT_PACKAGE}, but {target} is still not an executable.")
    return target


def main() -> int:
    print(f"chromium: {ensure_chromium()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
