"""tools/ensure_chromium.py decides right without touching the machine: apt-get is faked."""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from tools.ensure_chromium import ensure_chromium


def executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_an_installed_browser_is_used_as_is(tmp_path: Path) -> None:
    browser = executable(tmp_path / "chromium")
    assert ensure_chromium(str(browser), root=False, run=lambda _: pytest.fail("must not install")) == str(
        browser
    )


def test_without_root_it_fails_with_instructions(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as stop:
        ensure_chromium(str(tmp_path / "missing"), root=False)
    assert "apt-get install -y chromium" in str(stop.value) and "STOCKWIZ_CHROMIUM" in str(stop.value)


def test_as_root_it_updates_then_installs(tmp_path: Path) -> None:
    target = tmp_path / "chromium"
    commands: list[list[str]] = []

    def apt(command: Sequence[str]) -> int:
        commands.append(list(command))
        if "install" in command:
            executable(target)
        return 0

    assert ensure_chromium(str(target), root=True, run=apt, has_apt=lambda: True) == str(target)
    assert commands == [
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
    ]


def test_a_failed_install_stops_with_the_command(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="apt-get update"):
        ensure_chromium(str(tmp_path / "chromium"), root=True, run=lambda _: 100, has_apt=lambda: True)
    with pytest.raises(SystemExit, match="still not an executable"):
        ensure_chromium(str(tmp_path / "chromium"), root=True, run=lambda _: 0, has_apt=lambda: True)
    with pytest.raises(SystemExit, match="apt-get is not available"):
        ensure_chromium(str(tmp_path / "chromium"), root=True, has_apt=lambda: False)
