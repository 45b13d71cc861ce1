"""make upgrade: which names are resolved, what is kept when only some packages move, what is written."""

from __future__ import annotations

from pathlib import Path

from tools import upgrade_pins


def test_requirements_follow_includes_and_leave_the_old_pins_out(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").write_text("# the service\naiohttp\nSQLAlchemy[asyncio]\n")
    (tmp_path / "requirements.txt").write_text("-c constraints.txt\npulumi  # the program\n")
    top = tmp_path / "requirements-dev.txt"
    top.write_text("-r svc/requirements.txt\n-r requirements.txt\naiohttp\nmoto[sns,sqs]==5.2.5\n\n")
    assert upgrade_pins.requirement_lines(top) == [
        "aiohttp",
        "SQLAlchemy[asyncio]",
        "pulumi",
        "moto[sns,sqs]",
    ]


def test_the_repositorys_requirements_name_every_part_and_only_the_policy_pack_pins() -> None:
    services = sorted((upgrade_pins.REPO / "apps").glob("*/requirements.txt"))
    for path in [upgrade_pins.TOP, upgrade_pins.REPO / "requirements.txt", *services]:
        assert "==" not in path.read_text(), f"{path.name}: versions belong in constraints.txt"
    lines = upgrade_pins.requirement_lines(upgrade_pins.TOP)
    names = {upgrade_pins.canonical(line.split("[")[0]) for line in lines}
    assert {"aiohttp", "sqlalchemy", "pulumi", "pulumi-policy", "pytest", "pre-commit"} <= names
    pinned = upgrade_pins.read_pins(upgrade_pins.CONSTRAINTS.read_text())
    assert names <= pinned.keys(), sorted(names - pinned.keys())


def test_upgrading_some_packages_keeps_every_other_pin() -> None:
    current = upgrade_pins.read_pins("aiohttp==3.14.5\nyarl==1.25.1\nPyYAML==6.0.4\n")
    kept = upgrade_pins.kept_pins(current, {upgrade_pins.canonical("AioHTTP")})
    assert kept == "PyYAML==6.0.4\nyarl==1.25.1\n"


def test_what_pip_froze_is_written_sorted_without_the_installers() -> None:
    frozen = (
        "yarl==1.26.0\npip==26.0\nboto3==1.45.0\nboto3-stubs==1.45.0\nsetuptools==80.0\nAlembic==1.21.0\n"
    )
    assert (
        upgrade_pins.render(frozen) == "Alembic==1.21.0\nboto3-stubs==1.45.0\nboto3==1.45.0\nyarl==1.26.0\n"
    )


def test_changes_name_what_moved_appeared_and_went() -> None:
    old = upgrade_pins.read_pins("aiohttp==3.14.5\nyarl==1.25.1\nsix==1.17.0\n")
    new = upgrade_pins.read_pins("aiohttp==3.15.0\nyarl==1.25.1\npropcache==0.4.0\n")
    assert upgrade_pins.changes(old, new) == [
        "  aiohttp: 3.14.5 -> 3.15.0",
        "  propcache: (new) -> 0.4.0",
        "  six: 1.17.0 -> (removed)",
    ]


def test_a_package_that_is_not_pinned_is_refused(capsys: object) -> None:
    assert upgrade_pins.main(["no-such-package"]) == 2
