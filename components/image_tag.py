"""A Docker image tag derived from exactly the files that go into the image.

The tag changes when, and only when, something the Dockerfile copies into the image changes (or the
Dockerfile itself, or the platform). An unchanged service therefore keeps its image name, and pulumi-docker
neither rebuilds nor re-pushes it; ECR's immutable tags can never hold two different builds under one tag.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Never part of an image's meaning, even when a Dockerfile copies a whole directory.
_ALWAYS_IGNORED = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
_IGNORED_SUFFIXES = (".pyc", ".pyo")


def dockerfile_sources(dockerfile_text: str) -> list[str]:
    """The build-context paths the COPY and ADD instructions read (not those copied from other stages)."""
    sources: list[str] = []
    for instruction in _instructions(dockerfile_text):
        keyword, _, rest = instruction.partition(" ")
        if keyword.upper() not in {"COPY", "ADD"}:
            continue
        rest = rest.strip()
        words = list(json.loads(rest)) if rest.startswith("[") else shlex.split(rest)
        flags = [word for word in words if word.startswith("--")]
        if any(flag.startswith("--from=") for flag in flags):
            continue
        paths = [word for word in words if not word.startswith("--")]
        sources.extend(paths[:-1])  # the last word is the destination
    return sources


def _instructions(text: str) -> Iterator[str]:
    """Dockerfile instructions with comments dropped and line continuations joined."""
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        if current:
            yield current
        current = ""
    if current.strip():
        yield current


@dataclass(frozen=True)
class IgnoreRule:
    """One .dockerignore line: a path pattern, and whether it re-includes (`!`) what it matches."""

    regex: re.Pattern[str]
    negated: bool


def read_dockerignore(context: Path) -> list[IgnoreRule]:
    """The context's .dockerignore rules, in file order (none when there is no file)."""
    path = context / ".dockerignore"
    if not path.exists():
        return []
    rules: list[IgnoreRule] = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        rules.append(IgnoreRule(_glob_regex(pattern.strip("/")), negated))
    return rules


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Docker's matching: `*` and `?` stay within one path segment, `**` spans any number of them."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            members = pattern[i + 1 : end].replace("\\", "\\\\")
            members = "^" + members[1:] if members.startswith(("!", "^")) else members
            out, i = out + "[" + members + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def is_ignored(relative: str, rules: list[IgnoreRule]) -> bool:
    """Whether Docker leaves `relative` (a context path, with /) out of the build context: as in Docker, the
    last rule matching the file or one of its directories decides."""
    parts = relative.strip("/").split("/")
    ancestors = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for rule in rules:
        if any(rule.regex.match(path) for path in ancestors):
            ignored = not rule.negated
    return ignored


def _included(relative: str, rules: list[IgnoreRule]) -> bool:
    parts = relative.split("/")
    if any(part in _ALWAYS_IGNORED for part in parts) or relative.endswith(_IGNORED_SUFFIXES):
        return False
    return not is_ignored(relative, rules)


def context_files(context: Path, sources: Iterable[str]) -> list[Path]:
    """Every file under the context the given COPY sources name, sorted and de-duplicated."""
    rules = read_dockerignore(context)
    found: set[Path] = set()
    for source in sources:
        if source.startswith(("http://", "https://")):
            raise ValueError(f"ADD from a URL ({source}) cannot be content-hashed; download it in a RUN step")
        pattern = source.lstrip("/") or "."
        matches = [context] if pattern in {".", "./"} else sorted(context.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"the Dockerfile copies {source}, which is not in {context}")
        for match in matches:
            candidates = [match] if match.is_file() else [p for p in match.rglob("*") if p.is_file()]
            for candidate in candidates:
                if _included(candidate.relative_to(context).as_posix(), rules):
                    found.add(candidate)
    return sorted(found)


def content_tag(context: Path, dockerfile: Path, platform: str) -> str:
    """`src-<16 hex>`: SHA-256 over the Dockerfile, the platform and every copied file (path and bytes)."""
    if not dockerfile.is_file():
        raise FileNotFoundError(f"no Dockerfile at {dockerfile}")
    text = dockerfile.read_text()
    digest = hashlib.sha256()
    digest.update(b"platform\0" + platform.encode() + b"\0dockerfile\0" + text.encode() + b"\0")
    for path in context_files(context, dockerfile_sources(text)):
        digest.update(path.relative_to(context).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return "src-" + digest.hexdigest()[:16]
