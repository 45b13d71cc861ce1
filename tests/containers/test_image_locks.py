"""Each image installs its service's whole dependency closure at exactly the versions the tests run with."""

from __future__ import annotations

from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools import image_locks

SERVICES = image_locks.SERVICES


def test_every_lock_is_what_make_lock_writes_from_constraints() -> None:
    assert image_locks.main(["--check"]) == 0, "run `make lock` and commit the result"


@pytest.mark.parametrize("service", SERVICES)
def test_a_lock_pins_its_requirements_and_their_closure_at_the_constraints_versions(service: str) -> None:
    constraints = image_locks.read_pins(image_locks.REPO / "constraints.txt")
    lock = image_locks.read_pins(image_locks.lock_path(service))
    direct = image_locks.REPO / "apps" / service / "requirements.txt"
    for line in direct.read_text().splitlines():
        if image_locks.is_requirement(line):
            name = Requirement(line).name
            assert canonicalize_name(name) in lock, f"{name}: in requirements.txt, not in the lock"
    for key, (name, version) in lock.items():
        assert constraints[key][1] == version, f"{name}: lock {version}, constraints {constraints[key][1]}"
        assert metadata.version(name) == version, f"{name}: the test virtualenv runs another version"
    # Closure: what each locked distribution requires on Linux/CPython 3.11 is locked too.
    for _, (name, _) in lock.items():
        for requirement in image_locks.closure_requirements(name):
            assert canonicalize_name(requirement) in lock, f"{name} needs {requirement}, not in the lock"


def test_a_stale_lock_is_reported(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    real = image_locks.render

    def drifted(service: str) -> str:
        return real(service).replace("aiohttp==", "aiohttp===")

    monkeypatch.setattr(image_locks, "render", drifted)
    assert image_locks.main(["--check"]) == 1


def test_the_policy_packs_pins_are_written_from_constraints(monkeypatch: pytest.MonkeyPatch) -> None:
    constraints = image_locks.read_pins(image_locks.REPO / "constraints.txt")
    for key, (name, version) in image_locks.read_pins(image_locks.POLICY_REQUIREMENTS).items():
        assert constraints[key][1] == version, f"policy/requirements.txt pins {name} {version}"
    real = image_locks.render_policy_requirements
    monkeypatch.setattr(
        image_locks, "render_policy_requirements", lambda: real().replace("pulumi==", "pulumi==0.")
    )
    assert image_locks.main(["--check"]) == 1
