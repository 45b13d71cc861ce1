"""Image tags follow exactly the files an image is built from."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.image_tag import content_tag, context_files, dockerfile_sources
from tools.pulumi_mocks import ROOT

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


@pytest.fixture
def context(tmp_path: Path) -> Path:
    for path, text in {
        "svc/requirements.txt": "aiohttp==3.14.5\n",
        "svc/__init__.py": "",
        "svc/app.py": "print('hi')\n",
        "svc/tests/test_app.py": "assert True\n",
        "svc/__pycache__/app.cpython-311.pyc": "bytecode",
        "shared/lib.py": "VALUE = 1\n",
        "other/unrelated.py": "x = 1\n",
        "svc/Dockerfile": DOCKERFILE,
        ".dockerignore": "*\n!svc\n!shared\n**/tests\n**/*.pyc\n",
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    return tmp_path


def tag(context: Path, platform: str = "linux/amd64") -> str:
    return content_tag(context, context / "svc/Dockerfile", platform)


def test_sources_are_the_copy_arguments_from_the_context() -> None:
    assert dockerfile_sources(DOCKERFILE) == ["svc/requirements.txt", "shared", "svc"]


def test_files_follow_dockerignore_like_docker(context: Path) -> None:
    files = [
        p.relative_to(context).as_posix() for p in context_files(context, dockerfile_sources(DOCKERFILE))
    ]
    assert files == [
        "shared/lib.py",
        "svc/Dockerfile",
        "svc/__init__.py",
        "svc/app.py",
        "svc/requirements.txt",
    ]


def test_tag_changes_with_what_goes_into_the_image_and_nothing_else(context: Path) -> None:
    first = tag(context)
    assert first.startswith("src-") and len(first) == 20
    assert tag(context) == first
    (context / "other/unrelated.py").write_text("x = 2\n")
    (context / "svc/tests/test_app.py").write_text("assert False\n")
    assert tag(context) == first
    (context / "shared/lib.py").write_text("VALUE = 2\n")
    second = tag(context)
    assert second != first
    (context / "svc/new.py").write_text("")
    assert tag(context) != second
    assert tag(context, "linux/arm64") != tag(context)


def test_missing_inputs_fail_loudly(context: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no Dockerfile"):
        content_tag(context, context / "nope/Dockerfile", "linux/amd64")
    (context / "svc/Dockerfile").write_text("FROM python\nCOPY missing /app\n")
    with pytest.raises(FileNotFoundError, match="copies missing"):
        tag(context)


def test_each_real_service_has_its_own_tag() -> None:
    apps = ROOT / "apps"
    tags = {
        name: content_tag(apps, apps / name / "Dockerfile", "linux/amd64")
        for name in ("gateway", "products", "inventory")
    }
    assert len(set(tags.values())) == 3
    files = context_files(apps, dockerfile_sources((apps / "gateway/Dockerfile").read_text()))
    names = {p.relative_to(apps).parts[0] for p in files}
    assert names == {"gateway", "stockwiz_runtime"}
