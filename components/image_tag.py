"""Image tags that change exactly when pulumi-docker would rebuild and push the image.

How pulumi-docker 4.x (`docker.Image`) decides to rebuild (provider/provider.go, `Check` and `Diff`, read
at v4.11.2): `Check` adds `build.contextDigest`, a SHA-256 over the Dockerfile's bytes and over every file
of the build context that the ignore file lets through (its context-relative path, its Go file-mode string
and its bytes; a symlink's target path instead of bytes). The ignore file is `<Dockerfile>.dockerignore` when
it exists, else `<context>/.dockerignore`, the same precedence as BuildKit. `Diff` then compares every input
(imageName, every `build` field including contextDigest, skipPush, buildOnPreview, registry.server) with the
last deployment's; any difference means a new build and a push under imageName.

So the tag is `<content>-g<generation>`: the content part hashes exactly those inputs (all but imageName
and the registry, which name the repository) and changes whenever the provider would rebuild; the
generation (`image_tag`) counts the repository's pushes, so content that comes back (a revert, a redeploy
of an older commit) gets a new tag too. No push can ever reuse a tag, which an immutable ECR repository
would refuse even for identical bytes. With the whole of apps/ as every image's context, one service's
change would change all three digests; each Dockerfile therefore has a `Dockerfile.dockerignore` that
admits only what it copies, which `verify_context` enforces.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import stat
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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


# -- the ignore file --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IgnoreRule:
    """One .dockerignore line: a path pattern, and whether it re-includes (`!`) what it matches."""

    regex: re.Pattern[str]
    negated: bool


def ignore_file(context: Path, dockerfile: Path | None = None) -> Path | None:
    """The ignore file Docker (BuildKit) and pulumi-docker use: `<Dockerfile>.dockerignore` first, then the
    context's `.dockerignore`; None when neither exists."""
    candidates = [dockerfile.with_name(dockerfile.name + ".dockerignore")] if dockerfile else []
    candidates.append(context / ".dockerignore")
    return next((path for path in candidates if path.is_file()), None)


def read_dockerignore(context: Path, dockerfile: Path | None = None) -> list[IgnoreRule]:
    """The rules of `ignore_file(context, dockerfile)`, in file order (none when there is no file).

    Parsed as moby's ignorefile.ReadAll: a line is a comment only when `#` is its first character, blank lines
    are skipped, a leading `!` negates, and the pattern is cleaned like a path with any leading `/` dropped.
    """
    path = ignore_file(context, dockerfile)
    if path is None:
        return []
    rules: list[IgnoreRule] = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        negated = line.startswith("!")
        pattern = line[1:].strip() if negated else line
        pattern = os.path.normpath(pattern).lstrip("/") if pattern else pattern
        rules.append(IgnoreRule(_glob_regex(pattern), negated))
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


# -- what the provider hashes -----------------------------------------------------------------------------


def build_context_files(context: Path, dockerfile: Path) -> list[str]:
    """Every non-directory entry of the context the ignore file lets through, as context-relative paths in
    the order the provider's walk (fsutil.Walk, lexical per directory) visits them. Symlinks are not
    followed."""
    rules = read_dockerignore(context, dockerfile)
    found: list[str] = []

    def walk(directory: Path, prefix: str) -> None:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            relative = prefix + entry.name
            if entry.is_dir(follow_symlinks=False):
                walk(Path(entry.path), relative + "/")
            elif not is_ignored(relative, rules):
                found.append(relative)

    walk(context, "")
    return found


def _go_mode_string(mode: int) -> str:
    """Go's fs.FileMode.String() for an lstat mode: type and special bits as letters, then rwxrwxrwx."""
    letters = ""
    if stat.S_ISDIR(mode):
        letters += "d"
    if stat.S_ISLNK(mode):
        letters += "L"
    if stat.S_ISBLK(mode):
        letters += "D"
    if stat.S_ISFIFO(mode):
        letters += "p"
    if stat.S_ISSOCK(mode):
        letters += "S"
    if mode & stat.S_ISUID:
        letters += "u"
    if mode & stat.S_ISGID:
        letters += "g"
    if stat.S_ISCHR(mode):
        letters += "c"
    if mode & stat.S_ISVTX:
        letters += "t"
    permissions = "".join(c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
    return (letters or "-") + permissions


def _entry(relative: str, mode_string: str, content_hash: bytes) -> bytes:
    return relative.encode() + mode_string.encode() + content_hash + b"\0"


def context_digest(context: Path, dockerfile: Path) -> str:
    """pulumi-docker's `build.contextDigest` for this context and Dockerfile (hashContext in provider.go):
    the Dockerfile's bytes under the name `Dockerfile` with mode 0, then every file of
    `build_context_files` with its path, mode and bytes (a symlink: its resolved target path)."""
    if not dockerfile.is_file():
        raise FileNotFoundError(f"no Dockerfile at {dockerfile}")
    accumulator = hashlib.sha256()
    accumulator.update(_entry("Dockerfile", "----------", hashlib.sha256(dockerfile.read_bytes()).digest()))
    for relative in build_context_files(context, dockerfile):
        path = context / relative
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            # The provider hashes the resolved path as it sees it; relative to the context, so the tag does
            # not depend on where the repository is checked out.
            target = os.path.relpath(path.resolve(), context.resolve())
            content = hashlib.sha256(target.encode()).digest()
        elif stat.S_ISREG(mode):
            content = hashlib.sha256(path.read_bytes()).digest()
        else:  # pipes, sockets, devices: the provider hashes their name and mode only
            content = hashlib.sha256().digest()
        accumulator.update(_entry(relative, _go_mode_string(mode), content))
    return accumulator.hexdigest()


# -- the tag ----------------------------------------------------------------------------------------------


def verify_context(context: Path, dockerfile: Path) -> None:
    """Fail unless the context the provider hashes is exactly what the Dockerfile copies.

    A file the Dockerfile copies but the ignore file leaves out would fail the build; a file admitted but
    never copied would rebuild and redeploy this image whenever it changes (another service's code, say).
    """
    files = set(build_context_files(context, dockerfile))
    which = ignore_file(context, dockerfile)
    ignore_name = which.name if which else f"{dockerfile.name}.dockerignore"
    copied: set[str] = set()
    for source in dockerfile_sources(dockerfile.read_text()):
        if source.startswith(("http://", "https://")):
            raise ValueError(f"{dockerfile}: ADD from a URL ({source}) is not part of the build context")
        pattern = source.lstrip("/") or "."
        matches = [context] if pattern in {".", "./"} else sorted(context.glob(pattern))
        if not matches:
            raise FileNotFoundError(f"{dockerfile} copies {source}, which is not in {context}")
        under = {
            p.relative_to(context).as_posix()
            for match in matches
            for p in ([match] if not match.is_dir() else match.rglob("*"))
            if not p.is_dir()
        }
        if not under & files:
            raise ValueError(
                f"{dockerfile} copies {source}, which {ignore_name} leaves out of the build context"
            )
        copied |= under
    extra = sorted(files - copied)
    if extra:
        shown = ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else "")
        raise ValueError(
            f"{ignore_name} admits files {dockerfile} never copies ({shown}): a change to them would rebuild "
            f"and redeploy this image. Give the Dockerfile a {dockerfile.name}.dockerignore next to it that "
            "admits only the paths it copies."
        )


def content_tag(root: Path, image_inputs: Mapping[str, Any]) -> str:
    """`src-<16 hex>`, the content part of an image's tag: SHA-256 over the docker.Image inputs the provider
    diffs (every input but imageName and registry, which only name the repository; `build.context` and
    `build.dockerfile` relative to `root`, the Pulumi project directory) and over the provider's
    contextDigest of that build."""
    build = image_inputs["build"]
    context, dockerfile = root / build["context"], root / build["dockerfile"]
    verify_context(context, dockerfile)
    payload = {"inputs": image_inputs, "contextDigest": context_digest(context, dockerfile)}
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return "src-" + hashlib.sha256(encoded).hexdigest()[:16]


_TAG = re.compile(r"(src-[0-9a-f]{16})-g([1-9][0-9]*)")


def image_tag(content: str, pushed_tags: Iterable[str]) -> str:
    """The tag to build `content` (a `content_tag`) under, given the tags its repository already holds.

    The newest generation in the repository is what the last deployment pushed: when it holds this content,
    it is the tag (nothing to build, nothing to push); otherwise the content is pushed as the next
    generation, a tag the repository has never held. Tags of another form (older schemes, hand pushes) are
    not generations and are ignored; the lifecycle policy never expires the newest image.
    """
    generations = {m[1] + "-g" + m[2]: int(m[2]) for tag in pushed_tags if (m := _TAG.fullmatch(tag))}
    if not generations:
        return f"{content}-g1"
    newest = max(generations, key=lambda tag: generations[tag])
    if newest.startswith(content + "-g"):
        return newest
    return f"{content}-g{generations[newest] + 1}"


def provider_build_inputs(image_inputs: Mapping[str, Any], root: Path) -> dict[str, Any]:
    """The inputs pulumi-docker's Check hands its Diff: the program's, with build.contextDigest added."""
    build = dict(image_inputs["build"])
    build["contextDigest"] = context_digest(root / build["context"], root / build["dockerfile"])
    return {**image_inputs, "build": build}
