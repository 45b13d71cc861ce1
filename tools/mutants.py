"""`make mutants`: prove the policy pack catches realistic mistakes, one at a time.

Each mutant of the catalogue (tools/mutant_catalogue.py) is one mistake a person could make: a textual edit
of a file of the program (applied to a throw-away copy of the project) or a wrong setting in a stack file
(applied as a config override). For each, the program runs once per stack it concerns under the shared mocks
and the pack judges it exactly as `make policy` does (tools/policy_check.check_stack). A mutant is

- killed when the rule meant for it reports a mandatory violation on every stack it runs on;
- survived otherwise (listed with what the pack said instead);
- broken when it cannot be applied: an anchor (the text it edits) is missing or ambiguous, a setting it
  overrides is not declared, or the program fails. The program changes under other work; a broken mutant
  is fixed, never skipped, so the run fails.

The harmless changes of the catalogue must pass on every stack they run on. The run fails below
KILL_RATIO_REQUIRED, or on any broken mutant or refused harmless change.

Mutants run in parallel worker processes, each of which imports Pulumi and the pack once.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
KILL_RATIO_REQUIRED = 0.95
# What a copy of the project needs for the program to run; apps/ (image contexts, Lambda source) is linked.
PROGRAM_FILES = ("__main__.py", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml")
PROGRAM_DIRS = ("components",)
LINKED_DIRS = ("apps",)


class MutantError(Exception):
    """A mutant cannot be applied as written (its anchor is gone, its setting is not declared)."""


@dataclass(frozen=True)
class Edit:
    """Replace `old` by `new` in `path` (relative to the project); `old` must occur exactly `count` times."""

    path: str
    old: str
    new: str
    count: int = 1


@dataclass(frozen=True)
class Mutant:
    """One realistic mistake (or, with expect=None, one harmless change)."""

    id: str
    what: str
    # The rule meant to catch it; "config-error:<key>" when the program's own validation must refuse it;
    # None for a harmless change that must pass.
    expect: str | None
    # The resource type (or "config") the mistake concerns, for coverage.
    resource: str
    edits: tuple[Edit, ...] = ()
    # Stack settings as in Pulumi.<stack>.yaml (e.g. "stockwiz:natGatewayStrategy"); None removes one.
    config: Mapping[str, Any] = field(default_factory=dict)
    stacks: tuple[str, ...] = ("dev", "prod")
    # For a mistake the pack is known to miss: why, in a sentence. Printed when it survives.
    gap: str = ""

    @property
    def harmless(self) -> bool:
        return self.expect is None


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # killed, survived, broken, passed, refused
    detail: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status in ("killed", "passed")


# ---------------------------------------------------------------------------------------------------------
# applying a mutant


def apply_edits(root: Path, edits: Iterable[Edit]) -> None:
    for edit in edits:
        path = root / edit.path
        if not path.is_file():
            raise MutantError(f"{edit.path} does not exist")
        text = path.read_text(encoding="utf-8")
        found = text.count(edit.old)
        if found != edit.count:
            raise MutantError(
                f"anchor found {found} time(s) in {edit.path}, expected {edit.count}: {edit.old[:80]!r}"
            )
        path.write_text(text.replace(edit.old, edit.new), encoding="utf-8")


def check_settings(root: Path, mutant: Mutant) -> None:
    """Every overridden setting must be one the project declares or the stack file sets."""
    project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    declared = {key if ":" in key else f"stockwiz:{key}" for key in (project.get("config") or {})}
    for stack in mutant.stacks:
        stack_file = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")) or {}
        known = declared | set(stack_file.get("config") or {})
        for key in mutant.config:
            if key not in known:
                raise MutantError(f"setting {key} is neither declared in Pulumi.yaml nor set for {stack}")


def copy_project(destination: Path) -> Path:
    for name in PROGRAM_FILES:
        shutil.copy2(ROOT / name, destination / name)
    for name in PROGRAM_DIRS:
        shutil.copytree(ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in LINKED_DIRS:
        (destination / name).symlink_to(ROOT / name, target_is_directory=True)
    return destination


# ---------------------------------------------------------------------------------------------------------
# evaluating a mutant (in a worker process)

_ANALYZER: Any = None


def _init_worker() -> None:
    global _ANALYZER
    from tools.policy_check import stockwiz_analyzer

    _ANALYZER = stockwiz_analyzer()


def _init_pool_worker() -> None:
    """A worker of the pool: the program's own warnings (dev's plain HTTP...) would be printed once per
    mutant and stack; `make policy` shows them."""
    logging.getLogger().setLevel(logging.ERROR)
    _init_worker()


def _config_error_key(error: Exception) -> str | None:
    """The setting a StockwizConfigError names. Matched by name: the mutated copy's components package
    defines its own class."""
    return getattr(error, "key", None) if type(error).__name__ == "StockwizConfigError" else None


def evaluate(mutant: Mutant) -> Outcome:
    from tools.policy_check import check_stack

    if _ANALYZER is None:
        _init_worker()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"mutant-{mutant.id}-") as directory:
        root = copy_project(Path(directory))
        try:
            apply_edits(root, mutant.edits)
            check_settings(root, mutant)
        except MutantError as error:
            return Outcome(mutant, "broken", str(error), time.monotonic() - started)
        missed: list[str] = []
        seen: list[str] = []
        for stack in mutant.stacks:
            try:
                report = check_stack(stack, _ANALYZER, overrides=mutant.config, root=root)
            except Exception as error:  # the program refused the settings, or failed
                key = _config_error_key(error)
                if key is not None and mutant.expect == f"config-error:{key}":
                    seen.append(f"{stack}: refused by the program's configuration check ({key})")
                    continue
                status = "refused" if mutant.harmless else "broken"
                detail = f"{stack}: the program failed: {type(error).__name__}: {error}"
                return Outcome(mutant, status, detail, time.monotonic() - started)
            mandatory = [v for v in report.violations if v.mandatory]
            if mutant.harmless:
                if mandatory:
                    rules = sorted({f"{v.policy} ({v.resource})" for v in mandatory})
                    return Outcome(
                        mutant, "refused", f"{stack}: {', '.join(rules)}", time.monotonic() - started
                    )
                continue
            hits = [v for v in mandatory if v.policy == mutant.expect]
            if hits:
                seen.append(f"{stack}: {hits[0].resource}")
            else:
                others = sorted({v.policy for v in mandatory})
                missed.append(f"{stack}: {', '.join(others) if others else 'no mandatory violation at all'}")
    seconds = time.monotonic() - started
    if mutant.harmless:
        return Outcome(mutant, "passed", "", seconds)
    if missed:
        return Outcome(mutant, "survived", "; ".join(missed), seconds)
    return Outcome(mutant, "killed", "; ".join(seen), seconds)


def run(mutants: Sequence[Mutant], workers: int | None = None) -> list[Outcome]:
    """Evaluate every mutant; in `workers` processes (default: the CPUs, at most 4) when there are several."""
    workers = workers or min(4, os.cpu_count() or 1)
    if workers <= 1 or len(mutants) <= 1:
        return [evaluate(mutant) for mutant in mutants]
    # Spawned, not forked: the parent may hold a running asyncio loop or gRPC state from the SDK.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_init_pool_worker) as pool:
        return list(pool.map(evaluate, mutants, chunksize=1))


# ---------------------------------------------------------------------------------------------------------
# the verdict


@dataclass(frozen=True)
class Summary:
    outcomes: list[Outcome]

    @property
    def mutants(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.mutant.harmless]

    @property
    def killed(self) -> list[Outcome]:
        return [o for o in self.mutants if o.status == "killed"]

    @property
    def survivors(self) -> list[Outcome]:
        return [o for o in self.mutants if o.status == "survived"]

    @property
    def broken(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "broken"]

    @property
    def refused_harmless(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "refused"]

    @property
    def kill_ratio(self) -> float:
        return len(self.killed) / len(self.mutants) if self.mutants else 0.0

    @property
    def passed(self) -> bool:
        return self.kill_ratio >= KILL_RATIO_REQUIRED and not self.broken and not self.refused_harmless

    def render(self, verbose: bool = False) -> str:
        lines: list[str] = []
        if verbose:
            for o in self.outcomes:
                lines.append(f"{o.status:8} {o.mutant.id:34} {o.mutant.expect or '(harmless)':44} {o.detail}")
            lines.append("")
        harmless = [o for o in self.outcomes if o.mutant.harmless]
        lines.append(
            f"mutation test: killed {len(self.killed)} of {len(self.mutants)} mutants "
            f"({self.kill_ratio:.1%}; at least {KILL_RATIO_REQUIRED:.0%} required); "
            f"{len(harmless) - len(self.refused_harmless)} of {len(harmless)} harmless changes passed"
        )
        for title, group in (
            ("survived (the pack let these through)", self.survivors),
            ("broken (fix the mutant: its anchor or setting is gone, or the program fails)", self.broken),
            ("harmless changes the pack refused (false positives)", self.refused_harmless),
        ):
            if group:
                lines.append(f"{title}:")
                for o in group:
                    lines.append(
                        f"  {o.mutant.id}: {o.mutant.what} [expected {o.mutant.expect}] -> {o.detail}"
                    )
                    if o.status == "survived":
                        lines.append(f"    why: {o.mutant.gap or 'unknown: add a rule, or explain the gap'}")
        lines.append("mutation test " + ("passed" if self.passed else "FAILED"))
        return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from tools.mutant_catalogue import CATALOGUE

    parser = argparse.ArgumentParser(prog="make mutants", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: CPUs, max 4)")
    parser.add_argument("--only", action="append", help="run only these mutant ids (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per mutant")
    args = parser.parse_args(argv)
    if args.list:
        for mutant in CATALOGUE:
            print(f"{mutant.id:34} {mutant.expect or '(harmless)':44} {mutant.what}")
        return 0
    selected = [m for m in CATALOGUE if not args.only or m.id in args.only]
    started = time.monotonic()
    summary = Summary(run(selected, args.workers))
    print(summary.render(verbose=args.verbose))
    print(f"({len(selected)} entries in {time.monotonic() - started:.0f}s)")
    return 0 if summary.passed else 1


if __name__ == "__main__":
    sys.exit(main())
