"""Write each service image's lock: its whole dependency closure, pinned to the versions in constraints.txt.

    make lock          # rewrite apps/<service>/requirements.lock and policy/requirements.txt
    python -m tools.image_locks --check  # exit 1 and name what is stale (make lint's check)

constraints.txt is the one place a version is written by hand (`make upgrade` rewrites it); everything
pinned elsewhere is written from it here. Besides the image locks, that is the policy pack's
requirements.txt: `pulumi policy publish` ships the policy folder alone, so its file cannot point at
constraints.txt and carries the pins itself.

A service's requirements.txt names what its code imports; the image installs requirements.lock with
--no-deps, so the image gets exactly the libraries the test run uses (constraints.txt pins the virtualenv the
same way) and nothing unpinned can slip in through a transitive dependency. The closure is read from the
installed distributions' metadata (the virtualenv holds exactly the constraints.txt versions), following
every Requires-Dist whose marker holds on Linux for CPython 3.11 on either image platform (amd64, arm64),
with the extras a requirement asks for. Written here rather than by pip-tools or uv: both resolve against
the index again, and the question is not "what would resolve today" but "what is pinned already".
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("products", "inventory", "gateway")
# The images' interpreter and platforms (Pulumi's stockwiz:imagePlatform is linux/amd64 or linux/arm64).
TARGET_ENVIRONMENTS = [
    {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": "3.11",
        "python_full_version": "3.11.14",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": machine,
    }
    for machine in ("x86_64", "aarch64")
]
HEADER = (
    "# The {service} image's whole dependency closure at the versions in constraints.txt, installed\n"
    "# with --no-deps. Written by `make lock` (tools/image_locks.py) from {service}/requirements.txt:\n"
    "# do not edit.\n"
)


def read_pins(path: Path) -> dict[str, tuple[str, str]]:
    """canonical name -> (name as written, version) of every `name==version` line of a requirements file."""
    pins: dict[str, tuple[str, str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        if specifier.operator != "==":
            raise ValueError(f"{path.name}: not an exact pin: {line!r}")
        pins[canonicalize_name(requirement.name)] = (requirement.name, specifier.version)
    return pins


def _marker_holds(marker: Marker | None, extras: set[str]) -> bool:
    if marker is None:
        return True
    return any(
        marker.evaluate({**environment, "extra": extra})
        for environment in TARGET_ENVIRONMENTS
        for extra in (extras or {""})
    )


def closure(requirements: Path, constraints: dict[str, tuple[str, str]]) -> dict[str, str]:
    """name -> version of everything the requirements need, checked against constraints.txt."""
    pending = [Requirement(line) for line in requirements.read_text().splitlines() if is_requirement(line)]
    found: dict[str, str] = {}
    extras_seen: dict[str, set[str]] = {}
    while pending:
        requirement = pending.pop()
        key = canonicalize_name(requirement.name)
        extras = set(requirement.extras)
        if key in found and extras <= extras_seen[key]:
            continue
        if key not in constraints:
            raise SystemExit(
                f"{requirement.name} is needed by {requirements} but not pinned in constraints.txt"
            )
        name, version = constraints[key]
        installed = metadata.version(name)
        if installed != version:
            raise SystemExit(f"{name}: constraints.txt pins {version}, the virtualenv has {installed}")
        found[name] = version
        extras_seen[key] = extras_seen.get(key, set()) | extras
        pending += dependencies(name, extras_seen[key])
    return found


def dependencies(name: str, extras: set[str]) -> list[Requirement]:
    """What an installed distribution requires on the images' platforms, with the given extras."""
    return [
        requirement
        for requirement in map(Requirement, metadata.requires(name) or [])
        if _marker_holds(requirement.marker, extras)
    ]


def closure_requirements(name: str) -> list[str]:
    """The names a distribution requires without extras (the lock's completeness check)."""
    return [requirement.name for requirement in dependencies(name, set())]


def is_requirement(line: str) -> bool:
    stripped = line.split("#", 1)[0].strip()
    return bool(stripped) and not stripped.startswith("-")


def render(service: str) -> str:
    constraints = read_pins(REPO / "constraints.txt")
    pins = closure(REPO / "apps" / service / "requirements.txt", constraints)
    lines = [f"{name}=={version}" for name, version in sorted(pins.items(), key=lambda p: p[0].lower())]
    return HEADER.format(service=service) + "\n".join(lines) + "\n"


def lock_path(service: str) -> Path:
    return REPO / "apps" / service / "requirements.lock"


POLICY_REQUIREMENTS = REPO / "policy" / "requirements.txt"
POLICY_HEADER = (
    "# The CrossGuard policy pack's requirements. `pulumi policy publish` ships this folder alone, so the\n"
    "# versions are written here by `make lock` from constraints.txt: change them there, not here.\n"
)


def render_policy_requirements() -> str:
    """The policy pack's requirement names, as its file lists them, at the constraints.txt versions."""
    constraints = read_pins(REPO / "constraints.txt")
    names = [
        Requirement(line).name
        for line in POLICY_REQUIREMENTS.read_text().splitlines()
        if is_requirement(line)
    ]
    lines = []
    for name in names:
        _, version = constraints[canonicalize_name(name)]
        lines.append(f"{name}=={version}")
    return POLICY_HEADER + "\n".join(lines) + "\n"


def rendered() -> dict[Path, str]:
    """Every file written from constraints.txt, with what it should hold."""
    files = {lock_path(service): render(service) for service in SERVICES}
    files[POLICY_REQUIREMENTS] = render_policy_requirements()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail when a lock differs from constraints.txt")
    args = parser.parse_args(argv)
    stale = []
    for path, text in rendered().items():
        if path.exists() and path.read_text() == text:
            continue
        if args.check:
            stale.append(path.relative_to(REPO).as_posix())
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(REPO)}")
    if stale:
        print(f"stale: {', '.join(stale)}; run `make lock` and commit the result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
