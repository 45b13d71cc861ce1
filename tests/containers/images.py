"""What the static container tests read: the Dockerfiles, the build context's .dockerignore, the imports.

The images themselves are built and run by the real Docker Engine (test_images.py); these readers let the
checks that need no engine (hadolint's neighbours: the Dockerfile contract, COPY sources, pins) fail fast
and name the line. The Dockerfile reader understands the subset of the syntax our Dockerfiles use (line
continuations, comments, JSON and shell forms, `--flag=value` options); the .dockerignore matcher follows
Docker's rules: patterns are anchored at the context root, `*` stays within one path segment, `**` spans
any number of them, a pattern that matches a directory excludes everything in it, and the last matching
pattern wins (`!` re-includes).
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from components.image_tag import IgnoreRule, is_ignored, read_dockerignore

REPO = Path(__file__).resolve().parents[2]
CONTEXT = REPO / "apps"
RUNTIME = "stockwiz_runtime"
SERVICE_PORTS = {"products": 8001, "inventory": 8002, "gateway": 8000}
FIRST_PARTY = {RUNTIME, "products", "inventory", "gateway", "lowstock"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    flags: dict[str, str]
    args: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON-array (exec) form of CMD/HEALTHCHECK/ENTRYPOINT, or None for the shell form."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = text.split("CMD", 1)[1].strip() if "CMD" in text else text
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, list) and all(isinstance(v, str) for v in value) else None

    def words(self) -> list[str]:
        return shlex.split(self.args)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for word in instruction.words():
                key, _, value = word.partition("=")
                values[key] = value
        return values


@dataclass
class Dockerfile:
    path: Path
    global_args: dict[str, str]
    stages: list[Stage]
    text: str

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


_FLAG = re.compile(r"^--([a-z-]+)(?:=(\S*))?$")


def _logical_lines(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not buffer and (not stripped or stripped.startswith("#")):
            continue
        if buffer and stripped.startswith("#"):
            continue  # comment lines inside a continuation are dropped, as Docker does
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1].rstrip() + " "
            continue
        lines.append((start, buffer + stripped))
        buffer = ""
    if buffer:
        lines.append((start, buffer.strip()))
    return lines


def _substitute(value: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), value)


def parse_dockerfile(path: Path) -> Dockerfile:
    text = path.read_text()
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in _logical_lines(text):
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        flags: dict[str, str] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            word, _, remainder = rest.partition(" ")
            match = _FLAG.match(word)
            if match is None:
                break
            flags[match.group(1)] = match.group(2) or ""
            rest = remainder.strip()
        instruction = Instruction(keyword, flags, rest, number)
        if keyword == "FROM":
            words = rest.split()
            base = _substitute(words[0], global_args)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base, name))
        elif not stages:
            if keyword == "ARG":
                key, _, default = rest.partition("=")
                global_args[key] = default
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(path, global_args, stages, text)


def dockerfile(service: str) -> Dockerfile:
    return parse_dockerfile(CONTEXT / service / "Dockerfile")


def copy_sources(instruction: Instruction) -> tuple[list[str], str]:
    """(sources, destination) of a COPY instruction, in either form."""
    try:
        words = json.loads(instruction.args)
    except json.JSONDecodeError:
        words = shlex.split(instruction.args)
    return words[:-1], words[-1]


# --- .dockerignore ----------------------------------------------------------------------------------------


def image_ignore_rules(service: str) -> list[IgnoreRule]:
    """The ignore rules of the service's build: its own Dockerfile.dockerignore where there is one (as
    BuildKit and pulumi-docker read them), else the context's .dockerignore."""
    return read_dockerignore(CONTEXT, CONTEXT / service / "Dockerfile")


def context_files(service: str) -> set[str]:
    """Every file of apps/ that reaches the service's Docker build, as context-relative paths."""
    rules = image_ignore_rules(service)
    files = set()
    for path in CONTEXT.rglob("*"):
        if path.is_file():
            relative = path.relative_to(CONTEXT).as_posix()
            if not is_ignored(relative, rules):
                files.add(relative)
    return files


# --- imports ---------------------------------------------------------------------------------------------


def _module_file(module: str) -> Path | None:
    base = CONTEXT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    package = ".".join(path.relative_to(CONTEXT).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def third_party_imports(service: str) -> set[str]:
    """Top-level names of the non-standard-library modules the service's code can import at run time:
    every module of its package, and the runtime modules reachable from them."""
    import sys

    pending = [p for p in (CONTEXT / service).rglob("*.py")]
    seen: set[Path] = set()
    found: set[str] = set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            top = name.split(".")[0]
            if top in FIRST_PARTY:
                module_path = _module_file(name)
                if module_path is not None:
                    pending.append(module_path)
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                found.add(top)
    return found


def distribution_imports(distribution: str) -> set[str]:
    """The top-level import names an installed distribution provides (from the test environment)."""
    normalized = re.sub(r"[-_.]+", "-", distribution).lower()
    provided = {
        name
        for name, dists in metadata.packages_distributions().items()
        if any(re.sub(r"[-_.]+", "-", d).lower() == normalized for d in dists)
    }
    return provided


REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[(?P<extras>[^\]]+)\])?$")


def requirements(service: str) -> list[str]:
    """The names in the service's requirements.txt; raises on a version there (constraints.txt holds them)."""
    names: list[str] = []
    for raw in (CONTEXT / service / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = REQUIREMENT.match(line)
        if match is None:
            raise ValueError(
                f"{service}/requirements.txt: a name only, the version is in constraints.txt: {line!r}"
            )
        names.append(match.group("name"))
    return names
