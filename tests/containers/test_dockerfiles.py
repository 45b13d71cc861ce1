"""The service Dockerfiles and the build context, checked without a Docker engine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from components.image_tag import is_ignored
from tests.containers.images import (
    CONTEXT,
    RUNTIME,
    SERVICE_PORTS,
    context_files,
    copy_sources,
    distribution_imports,
    dockerfile,
    image_ignore_rules,
    requirements,
    third_party_imports,
)

SERVICES = sorted(SERVICE_PORTS)
HADOLINT = Path(sys.executable).parent / "hadolint"
PINNED_BASE = re.compile(
    r"^python:(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)-slim-bookworm@sha256:[0-9a-f]{64}$"
)
# Database drivers are loaded by SQLAlchemy from the URL scheme, never imported by name.
DATABASE_DRIVERS = {"asyncpg", "aiosqlite"}


@pytest.mark.parametrize("service", SERVICES)
def test_hadolint_passes_and_every_ignored_rule_is_justified(service: str) -> None:
    path = CONTEXT / service / "Dockerfile"
    result = subprocess.run(
        [str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for line in path.read_text().splitlines():
        if "hadolint ignore=" in line:
            reason = re.sub(r"#\s*hadolint ignore=[A-Z0-9,]+", "", line).strip(" #-:")
            assert len(reason) > 10, f"ignored rule without a reason: {line!r}"


@pytest.mark.parametrize("service", SERVICES)
def test_base_image_is_slim_pinned_by_digest_and_matches_the_test_python(service: str) -> None:
    image = dockerfile(service)
    bases = {stage.base for stage in image.stages}
    assert len(bases) == 1, f"builder and final stage must share one base image: {bases}"
    match = PINNED_BASE.match(bases.pop())
    assert match, "base must be python:X.Y.Z-slim-bookworm@sha256:<digest>"
    assert (int(match["major"]), int(match["minor"])) == sys.version_info[:2]


def test_every_image_uses_the_same_base() -> None:
    assert len({dockerfile(service).final.base for service in SERVICES}) == 1


@pytest.mark.parametrize("service", SERVICES)
def test_multi_stage_build_installs_only_the_services_pinned_requirements_from_wheels(service: str) -> None:
    image = dockerfile(service)
    assert [stage.name for stage in image.stages] == ["builder", None]
    builder = image.stage("builder")
    copies = [copy_sources(i) for i in builder.all("COPY")]
    assert copies == [([f"{service}/requirements.lock"], "/tmp/requirements.lock")]
    (install,) = builder.all("RUN")
    assert "--only-binary=:all:" in install.args, "a source build would need compilers in the builder"
    assert "--no-cache-dir" in install.args
    # The lock is the whole closure: --no-deps keeps pip from adding anything unpinned, `check` proves
    # nothing is missing. --python is a global option: pip 24.0+ refuses it after the subcommand.
    assert "--no-deps --requirement /tmp/requirements.lock" in install.args
    assert "python -m pip --python /opt/venv/bin/python install " in install.args
    assert "python -m pip --python /opt/venv/bin/python check" in install.args
    # Only the finished virtualenv crosses into the final stage: no pip cache, no requirements, no compilers.
    from_builder = [i for i in image.final.all("COPY") if "from" in i.flags]
    assert [(i.flags["from"], copy_sources(i)) for i in from_builder] == [
        ("builder", (["/opt/venv"], "/opt/venv"))
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_final_stage_runs_the_service_as_the_runtime_contract_says(service: str) -> None:
    final = dockerfile(service).final
    port = SERVICE_PORTS[service]
    env = final.env()
    assert env["HOST"] == "0.0.0.0"
    assert env["PORT"] == str(port)
    assert env["PYTHONPATH"] == "/app"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1", "the root filesystem is read-only at run time"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert [i.args for i in final.all("WORKDIR")] == ["/app"]
    assert [i.args for i in final.all("EXPOSE")] == [str(port)]
    assert [i.args for i in final.all("STOPSIGNAL")] == ["SIGTERM"]
    (cmd,) = final.all("CMD")
    assert cmd.exec_form() == ["python", "-m", service]
    assert not final.all("ENTRYPOINT")
    (healthcheck,) = final.all("HEALTHCHECK")
    assert healthcheck.exec_form() == ["python", "-m", "stockwiz_runtime.healthcheck"]
    assert (CONTEXT / RUNTIME / "healthcheck.py").is_file()


@pytest.mark.parametrize("service", SERVICES)
def test_runs_as_a_fixed_non_root_uid(service: str) -> None:
    final = dockerfile(service).final
    keywords = [i.keyword for i in final.instructions]
    users = final.all("USER")
    # Numeric, so ECS and Kubernetes can verify non-root without reading /etc/passwd.
    assert [u.args for u in users] == ["10001:10001"]
    assert "RUN" not in keywords[keywords.index("USER") :], "nothing may run as root after USER"
    (create_user,) = [i for i in final.all("RUN") if "useradd" in i.args]
    assert "--uid 10001" in create_user.args and "--gid 10001" in create_user.args
    assert "--no-log-init" in create_user.args


@pytest.mark.parametrize("service", SERVICES)
def test_no_curl_wget_add_or_secrets_in_any_layer(service: str) -> None:
    image = dockerfile(service)
    for stage in image.stages:
        for instruction in stage.instructions:
            words = re.findall(r"[a-z]+", instruction.args.lower())
            assert "curl" not in words and "wget" not in words, instruction
        assert not stage.all("ADD"), "ADD fetches URLs and unpacks archives; COPY says what it does"
        for instruction in stage.all("ENV") + stage.all("ARG"):
            for word in instruction.words():
                name = word.partition("=")[0].upper()
                assert not any(s in name for s in ("PASSWORD", "TOKEN", "SECRET", "API_KEY")), word


@pytest.mark.parametrize("service", SERVICES)
def test_copy_sources_exist_and_stay_within_the_service_and_the_shared_runtime(service: str) -> None:
    image = dockerfile(service)
    in_context = context_files(service)
    for stage in image.stages:
        for instruction in stage.all("COPY"):
            if "from" in instruction.flags:
                continue
            sources, _ = copy_sources(instruction)
            for source in sources:
                path = CONTEXT / source
                assert path.exists(), f"COPY {source}: not in the build context apps/"
                assert source.split("/")[0] in {service, RUNTIME}, f"COPY {source} is outside {service}"
                shipped = [f for f in in_context if f == source or f.startswith(source.rstrip("/") + "/")]
                assert shipped, f"COPY {source}: .dockerignore leaves nothing of it in the context"
    final_sources = sorted(
        s for i in image.final.all("COPY") if "from" not in i.flags for s in copy_sources(i)[0]
    )
    assert final_sources == sorted([RUNTIME, service])


@pytest.mark.parametrize("service", SERVICES)
def test_the_files_an_image_receives_are_code_and_assets_only(service: str) -> None:
    shipped = context_files(service)
    # The image's own build context holds its package and the shared runtime, nothing else.
    assert {f.split("/")[0] for f in shipped} == {service, RUNTIME}
    assert f"{service}/__main__.py" in shipped
    assert f"{RUNTIME}/healthcheck.py" in shipped
    assert any(f.startswith(f"{RUNTIME}/migrations/versions/") for f in shipped)
    assert f"{RUNTIME}/migrations/script.py.mako" in shipped
    for path in shipped:
        parts = path.split("/")
        name = parts[-1]
        assert "__pycache__" not in parts and "tests" not in parts, path
        assert not name.startswith("test_") and name != "conftest.py", path
        assert not name.endswith((".pyc", ".db", ".db-wal", ".db-shm", ".log")), path
        assert name not in {"Dockerfile", ".env"}, path


def test_gateway_image_ships_the_web_ui() -> None:
    shipped = context_files("gateway")
    assert any(f.startswith("gateway/static/") for f in shipped), "apps/gateway/static is missing or ignored"


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("products/app.py", False),
        ("gateway/static/index.html", False),
        ("stockwiz_runtime/migrations/versions/0001_products.py", False),
        ("inventory/requirements.txt", False),
        ("lowstock/handler.py", True),
        ("products/__pycache__/app.cpython-311.pyc", True),
        ("stockwiz_runtime/db.pyc", True),
        ("products/tests/test_app.py", True),
        ("inventory/test_ledger.py", True),
        ("gateway/conftest.py", True),
        (".venv/bin/python", True),
        ("products/.venv/lib/site.py", True),
        ("data/stockwiz.db", True),
        ("products/data/stockwiz.db", True),
        ("inventory/stockwiz.db-wal", True),
        (".env", True),
        ("gateway/.env", True),
        (".git/HEAD", True),
        (".pytest_cache/v/cache", True),
        ("gateway/.mypy_cache/3.11/x.json", True),
        ("products/Dockerfile", True),
        ("scratch.txt", True),
    ],
)
def test_dockerignore_keeps_junk_out_of_the_context(service: str, path: str, ignored: bool) -> None:
    # Another service's code never reaches this image's context either.
    expected = ignored or path.split("/")[0] not in {service, RUNTIME}
    assert is_ignored(path, image_ignore_rules(service)) is expected


@pytest.mark.parametrize("service", SERVICES)
def test_requirements_name_what_the_service_imports(service: str) -> None:
    names = requirements(service)  # raises on a version: constraints.txt is the one place for those
    imported = third_party_imports(service)
    uses_database = "sqlalchemy" in imported
    for name in names:
        if name.lower() in DATABASE_DRIVERS:
            assert uses_database, f"{service} names the driver {name} but opens no database"
            continue
        provided = distribution_imports(name)
        assert provided, f"{name} is not installed in the test environment"
        assert provided & imported, f"{service} names {name} but never imports {sorted(provided)}"
    if uses_database:
        assert {n.lower() for n in names} >= DATABASE_DRIVERS, "both database backends need their driver"
