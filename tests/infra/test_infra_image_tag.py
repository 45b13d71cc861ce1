"""Image tags change exactly when pulumi-docker would rebuild and push, and each image's context holds only
what its Dockerfile copies.

The first group models the provider's context digest (pulumi-docker v4.11.2 provider/provider.go,
hashContext and getIgnorePatterns) and repeats the cases of the provider's own tests (TestHashIgnoresFile,
TestHashIgnoresWildcards, TestHashIgnoresDockerfileOutsideDirMove, TestHashRenamingMatters,
TestHashFilemodeMatters, TestHashUnignoredDirs), plus the ignore-file precedence the provider follows.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from components.image_tag import (
    build_context_files,
    content_tag,
    context_digest,
    dockerfile_sources,
    image_tag,
    read_dockerignore,
    verify_context,
)
from tools.pulumi_mocks import ROOT

SERVICES = ("gateway", "products", "inventory")
DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG BASE=python:3.11-slim
FROM ${BASE} AS builder
COPY svc/requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt

FROM ${BASE}
COPY --from=builder /opt/venv /opt/venv
COPY --chown=10001:10001 shared \\
     /app/shared
# COPY ignored/ /nowhere
COPY ["svc", "/app/svc"]
CMD ["python", "-m", "svc"]
"""
SVC_IGNORE = "*\n!svc\n!shared\n**/tests\n**/*.pyc\n**/Dockerfile\n**/*.dockerignore\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


@pytest.fixture
def context(tmp_path: Path) -> Path:
    return write(
        tmp_path,
        {
            "svc/requirements.txt": "aiohttp==3.14.5\n",
            "svc/__init__.py": "",
            "svc/app.py": "print('hi')\n",
            "svc/tests/test_app.py": "assert True\n",
            "svc/__pycache__/app.cpython-311.pyc": "bytecode",
            "shared/lib.py": "VALUE = 1\n",
            "other/unrelated.py": "x = 1\n",
            "svc/Dockerfile": DOCKERFILE,
            "svc/Dockerfile.dockerignore": SVC_IGNORE,
            # The context-wide file admits everything; the Dockerfile's own file takes precedence over it.
            ".dockerignore": "**/__pycache__\n",
        },
    )


def digest(context: Path) -> str:
    return context_digest(context, context / "svc/Dockerfile")


def image_inputs(
    *,
    context: str = ".",
    dockerfile: str = "svc/Dockerfile",
    platform: str = "linux/amd64",
    builder: str = "BuilderBuildKit",
    build_on_preview: bool = False,
) -> dict[str, object]:
    """docker.Image inputs other than imageName and registry, in the provider's (camelCase) shape."""
    build = {"context": context, "dockerfile": dockerfile, "platform": platform, "builderVersion": builder}
    return {"build": build, "buildOnPreview": build_on_preview, "skipPush": False}


# -- the provider's context digest ------------------------------------------------------------------------


def test_sources_are_the_copy_arguments_from_the_context() -> None:
    assert dockerfile_sources(DOCKERFILE) == ["svc/requirements.txt", "shared", "svc"]


def test_the_dockerfile_specific_ignore_file_wins_over_the_context_one(context: Path) -> None:
    assert build_context_files(context, context / "svc/Dockerfile") == [
        "shared/lib.py",
        "svc/__init__.py",
        "svc/app.py",
        "svc/requirements.txt",
    ]
    os.remove(context / "svc/Dockerfile.dockerignore")
    files = build_context_files(context, context / "svc/Dockerfile")
    assert "other/unrelated.py" in files and ".dockerignore" in files


def test_ignored_files_do_not_count_and_included_ones_do(context: Path) -> None:
    first = digest(context)
    (context / "other/unrelated.py").write_text("x = 2\n")
    (context / "svc/tests/test_app.py").write_text("assert False\n")
    (context / "svc/__pycache__/app.cpython-311.pyc").write_text("other bytecode")
    (context / "svc/Dockerfile.dockerignore").write_text(SVC_IGNORE + "# a comment\n")
    assert digest(context) == first
    (context / "shared/lib.py").write_text("VALUE = 2\n")
    assert digest(context) != first


def test_wildcard_exceptions_are_honoured(tmp_path: Path) -> None:
    """TestHashIgnoresWildcards: `!projects/*/src` re-includes below an excluded directory."""
    context = write(
        tmp_path,
        {
            "Dockerfile": "FROM scratch\nCOPY projects /p\n",
            ".dockerignore": "projects\n!projects/*/src\n",
            "projects/foo/src/app.js": "1",
            "projects/foo/build/out.js": "1",
        },
    )
    first = context_digest(context, context / "Dockerfile")
    (context / "projects/foo/build/out.js").write_text("2")
    assert context_digest(context, context / "Dockerfile") == first
    (context / "projects/foo/src/app.js").write_text("2")
    assert context_digest(context, context / "Dockerfile") != first


def test_the_dockerfile_counts_by_content_not_by_name_or_place(tmp_path: Path) -> None:
    """TestHashIgnoresDockerfileOutsideDirMove, and the Dockerfile hashed even when ignored."""
    context = write(tmp_path / "app", {"foo.sh": "echo\n"})
    one = write(tmp_path, {"step1.Dockerfile": "FROM scratch\nCOPY . /\n"}) / "step1.Dockerfile"
    two = write(tmp_path, {"sub/step2.Dockerfile": "FROM scratch\nCOPY . /\n"}) / "sub/step2.Dockerfile"
    assert context_digest(context, one) == context_digest(context, two)
    two.write_text("FROM scratch\nCOPY . /app\n")
    assert context_digest(context, one) != context_digest(context, two)


def test_renaming_and_file_modes_count(context: Path) -> None:
    """TestHashRenamingMatters and TestHashFilemodeMatters."""
    first = digest(context)
    (context / "svc/app.py").rename(context / "svc/main.py")
    renamed = digest(context)
    assert renamed != first
    (context / "svc/main.py").chmod(0o755)
    assert digest(context) != renamed


def test_an_unignored_directory_hashes_like_no_ignore_file(tmp_path: Path) -> None:
    """TestHashUnignoredDirs: `*` then `!Dockerfile` and `!top-dir` is the same context as no file at all."""
    files = {"Dockerfile": "FROM scratch\n", "top-dir/subdir/app.js": "1"}
    plain = write(tmp_path / "plain", files)
    unignored = write(tmp_path / "unignored", {**files, ".dockerignore": "*\n!Dockerfile\n!top-dir\n"})
    assert context_digest(plain, plain / "Dockerfile") == context_digest(unignored, unignored / "Dockerfile")


def test_ignore_file_lines_parse_like_moby(tmp_path: Path) -> None:
    write(tmp_path, {".dockerignore": "# comment\n  # not a comment\n/abs/path\n! keep \n\n"})
    rules = read_dockerignore(tmp_path)
    assert [(r.regex.pattern, r.negated) for r in rules] == [
        (r"\#\ not\ a\ comment$", False),
        (r"abs/path$", False),
        (r"keep$", True),
    ]


# -- the tag ----------------------------------------------------------------------------------------------


def test_the_tag_follows_every_input_the_provider_diffs(context: Path) -> None:
    first = content_tag(context, image_inputs())
    assert first.startswith("src-") and len(first) == 20
    assert content_tag(context, image_inputs()) == first
    (context / "other/unrelated.py").write_text("x = 3\n")
    assert content_tag(context, image_inputs()) == first
    changed = {
        "platform": content_tag(context, image_inputs(platform="linux/arm64")),
        "buildOnPreview": content_tag(context, image_inputs(build_on_preview=True)),
        "builder": content_tag(context, image_inputs(builder="BuilderV1")),
    }
    assert first not in changed.values() and len(set(changed.values())) == len(changed)
    (context / "svc/new.py").write_text("")
    assert content_tag(context, image_inputs()) != first


def test_each_push_gets_a_tag_the_repository_never_held() -> None:
    a, b = "src-" + "a" * 16, "src-" + "b" * 16
    assert image_tag(a, []) == f"{a}-g1"
    # Tags of other forms (an older scheme, a hand push) are not generations.
    assert image_tag(a, ["latest", "src-0123456789abcdef", f"{b}-g0"]) == f"{a}-g1"
    # Unchanged content: the newest generation is what the state holds, so nothing is built or pushed.
    assert image_tag(a, [f"{a}-g1"]) == f"{a}-g1"
    assert image_tag(b, [f"{a}-g1"]) == f"{b}-g2"
    # A revert: the content of generation 1 again, after generation 2. Its old tag would be refused.
    held = [f"{a}-g1", f"{b}-g2"]
    assert image_tag(a, held) == f"{a}-g3" and f"{a}-g3" not in held
    assert image_tag(b, [f"{b}-g2", f"{a}-g10", f"{b}-g9"]) == f"{b}-g11"


def test_a_context_wider_than_the_copies_is_refused(context: Path) -> None:
    verify_context(context, context / "svc/Dockerfile")
    os.remove(context / "svc/Dockerfile.dockerignore")
    with pytest.raises(ValueError, match=r"admits files .* never copies .*other/unrelated\.py"):
        content_tag(context, image_inputs())


def test_a_copy_the_ignore_file_leaves_out_is_refused(context: Path) -> None:
    (context / "svc/Dockerfile.dockerignore").write_text("*\n!svc\n")
    with pytest.raises(ValueError, match=r"copies shared, which Dockerfile\.dockerignore leaves out"):
        content_tag(context, image_inputs())
    (context / "svc/Dockerfile").write_text("FROM python\nCOPY missing /app\n")
    with pytest.raises(FileNotFoundError, match="copies missing"):
        content_tag(context, image_inputs())


# -- the real images --------------------------------------------------------------------------------------


def _rules_after_allow_list(path: Path) -> list[str]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    rules = [line for line in lines if line and not line.startswith("#")]
    while rules and (rules[0] == "*" or (rules[0].startswith("!") and "/" not in rules[0])):
        rules.pop(0)
    return rules


@pytest.mark.parametrize("service", SERVICES)
def test_each_image_context_is_exactly_what_its_dockerfile_copies(service: str) -> None:
    apps = ROOT / "apps"
    dockerfile = apps / service / "Dockerfile"
    verify_context(apps, dockerfile)
    tops = {path.split("/")[0] for path in build_context_files(apps, dockerfile)}
    assert tops == {service, "stockwiz_runtime"}
    # The same exclusions as the context-wide file (which plain `docker build` without BuildKit reads).
    assert _rules_after_allow_list(apps / service / "Dockerfile.dockerignore") == _rules_after_allow_list(
        apps / ".dockerignore"
    )


def test_one_service_change_retags_only_that_image(tmp_path: Path) -> None:
    apps = shutil.copytree(ROOT / "apps", tmp_path / "apps", ignore=shutil.ignore_patterns("__pycache__"))

    def tags() -> dict[str, str]:
        return {
            name: content_tag(tmp_path, image_inputs(context="apps", dockerfile=f"apps/{name}/Dockerfile"))
            for name in SERVICES
        }

    before = tags()
    assert len(set(before.values())) == 3
    with (apps / "products/app.py").open("a") as handle:
        handle.write("# changed\n")
    after_products = tags()
    assert {name for name in SERVICES if after_products[name] != before[name]} == {"products"}
    with (apps / "lowstock/handler.py").open("a") as handle:
        handle.write("# changed\n")
    (apps / "gateway/tests").mkdir()
    (apps / "gateway/tests/test_x.py").write_text("assert True\n")
    assert tags() == after_products
    with (apps / "stockwiz_runtime/db.py").open("a") as handle:
        handle.write("# changed\n")
    after_runtime = tags()
    assert all(after_runtime[name] != after_products[name] for name in SERVICES)
