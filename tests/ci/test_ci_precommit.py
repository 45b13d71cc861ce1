"""The pre-commit hook runs exactly `make lint`, so a commit is checked the way CI checks it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".pre-commit-config.yaml"


def test_the_configuration_is_valid_for_pre_commit() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_one_hook_is_make_lint_over_the_whole_tree() -> None:
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [repo["repo"] for repo in config["repos"]] == ["local"]  # nothing fetched from the network
    assert len(hooks) == 1
    (hook,) = hooks
    assert hook["entry"] == "make lint" and hook["language"] == "system"
    # make lint checks the whole tree, not the staged files pre-commit would otherwise pass.
    assert hook["pass_filenames"] is False and hook["always_run"] is True
    assert "\nlint: " in (ROOT / "Makefile").read_text()
