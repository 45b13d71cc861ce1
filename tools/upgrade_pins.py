"""Re-resolve the pinned versions: rewrite constraints.txt, the one place a version is written.

    make upgrade                        # every package to the newest release the requirements allow
    make upgrade PACKAGES="aiohttp yarl"  # only these (and what they drag along); the rest stay pinned

The requirement files name what each part imports (requirements-dev.txt includes them all); this resolves
those names in a throw-away virtualenv, with pip's own resolver, and writes what it installed. The
Makefile then runs `make install` and `make lock`, so the development virtualenv, the image locks and the
policy pack's pins follow. Review the printed changes, run `make test`, commit everything.

Standard library only: it has to run before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "constraints.txt"
TOP = REPO / "requirements-dev.txt"
# Installers the throw-away virtualenv brings along; not dependencies of StockWiz.
NOT_PINNED = {"pip", "setuptools", "wheel"}
# A requirement's name and extras; any version after them is dropped, since the point is to choose anew
# (the policy pack's requirements.txt carries pins of its own, written by `make lock`).
_REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?")


def canonical(name: str) -> str:
    """PEP 503 normalised name: pre_commit, Pre.Commit and pre-commit are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_lines(path: Path) -> list[str]:
    """Every requirement of a requirements file, by name and extras, following `-r` includes; `-c` lines
    are the pins being replaced, so they are left out."""
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r"):
            lines += requirement_lines(path.parent / line[2:].strip())
        elif not line.startswith("-"):
            match = _REQUIREMENT.match(line)
            if match is None:
                raise ValueError(f"{path}: not a requirement: {line!r}")
            lines.append(match.group(0))
    return list(dict.fromkeys(lines))


def read_pins(text: str) -> dict[str, tuple[str, str]]:
    """canonical name -> (name as written, version) of each `name==version` line."""
    pins: dict[str, tuple[str, str]] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            name, version = (part.strip() for part in line.split("==", 1))
            pins[canonical(name)] = (name, version)
    return pins


def kept_pins(current: dict[str, tuple[str, str]], upgrading: set[str]) -> str:
    """The constraints the resolver must keep when only some packages are upgraded."""
    return "".join(
        f"{name}=={version}\n" for key, (name, version) in sorted(current.items()) if key not in upgrading
    )


def render(frozen: str) -> str:
    """constraints.txt as `pip freeze` printed it, minus the installers, sorted as pip sorts."""
    pins = read_pins(frozen)
    lines = [f"{name}=={version}" for key, (name, version) in pins.items() if key not in NOT_PINNED]
    return "\n".join(sorted(lines, key=str.lower)) + "\n"


def changes(old: dict[str, tuple[str, str]], new: dict[str, tuple[str, str]]) -> list[str]:
    """One line per package whose pin appeared, went or moved."""
    out = []
    for key in sorted(old.keys() | new.keys()):
        before = old[key][1] if key in old else None
        after = new[key][1] if key in new else None
        name = (new.get(key) or old[key])[0]
        if before != after:
            out.append(f"  {name}: {before or '(new)'} -> {after or '(removed)'}")
    return out


def resolve(requirements: list[str], constraints: str) -> str:
    """`pip freeze` of a fresh virtualenv with the requirements installed under the given constraints."""
    with tempfile.TemporaryDirectory(prefix="stockwiz-upgrade-") as scratch:
        root = Path(scratch)
        venv.create(root / "venv", with_pip=True)
        python = str(root / "venv" / "bin" / "python")
        (root / "constraints.txt").write_text(constraints)
        command = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        command += ["-c", str(root / "constraints.txt"), *requirements]
        print(f"resolving {len(requirements)} requirements in a fresh virtualenv ...", flush=True)
        subprocess.run(command, check=True)
        frozen = subprocess.run(
            [python, "-m", "pip", "freeze", "--all", "--disable-pip-version-check"],
            check=True,
            capture_output=True,
            text=True,
        )
        return frozen.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("packages", nargs="*", help="upgrade only these (default: everything)")
    args = parser.parse_args(argv)
    current = read_pins(CONSTRAINTS.read_text())
    upgrading = {canonical(name) for name in args.packages}
    unknown = sorted(upgrading - current.keys())
    if unknown:
        print(f"not pinned in constraints.txt: {', '.join(unknown)}", file=sys.stderr)
        return 2
    requirements = requirement_lines(TOP)
    frozen = resolve(requirements, kept_pins(current, upgrading) if upgrading else "")
    text = render(frozen)
    moved = changes(current, read_pins(text))
    CONSTRAINTS.write_text(text)
    print("constraints.txt: " + ("unchanged" if not moved else f"{len(moved)} changes"))
    print("\n".join(moved))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
