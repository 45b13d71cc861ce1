"""The stand-in base is never more lenient than the official python:3.11-slim-bookworm it replaces."""

from __future__ import annotations

import pytest
from packaging.version import Version

from tests.containers.engine import docker, inspect
from tests.containers.images_built import official_base
from tests.containers.standin_base import ensure_standin

pytestmark = [pytest.mark.docker]
# CPython 3.11.8 and later bundle pip 24.0 through ensurepip, which the official images install; pip 24.0
# is also where `--python` after the subcommand became an error.
OFFICIAL_PIP = Version("24.0")


@pytest.fixture(scope="module")
def standin(engine: None) -> str:
    return ensure_standin()


def _run(image: str, script: str) -> str:
    return docker(
        "run", "--rm", "--network", "none", image, "python", "-c", script, timeout=120
    ).stdout.strip()


def test_same_python_minor_version_as_the_official_base(standin: str) -> None:
    official_minor = official_base().split(":")[1].split("-")[0].rsplit(".", 1)[0]
    assert _run(standin, "import sys; print('%d.%d' % sys.version_info[:2])") == official_minor == "3.11"


def test_pip_at_least_as_new_as_the_official_bases(standin: str) -> None:
    version = Version(_run(standin, "import pip; print(pip.__version__)"))
    assert version >= OFFICIAL_PIP, version


def test_no_externally_managed_marker_and_no_compiler(standin: str) -> None:
    script = (
        "import glob, shutil, sysconfig;"
        "print(glob.glob(sysconfig.get_path('stdlib') + '/EXTERNALLY-MANAGED'),"
        " [c for c in ('gcc', 'cc', 'clang') if shutil.which(c)])"
    )
    assert _run(standin, script) == "[] []"


def test_python_on_path_as_in_the_official_image(standin: str) -> None:
    assert _run(standin, "import sys; print(sys.executable)") == "/usr/local/bin/python"
    assert inspect(standin)["Config"]["Env"].count("LANG=C.UTF-8") == 1


def test_the_pip_option_order_rule_is_enforced(standin: str) -> None:
    # The defect this base must reproduce: a current pip refuses --python after the subcommand name.
    result = docker(
        "run",
        "--rm",
        "--network",
        "none",
        standin,
        "python",
        "-m",
        "pip",
        "install",
        "--python",
        "/usr/bin/python3",
        "pip",
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "--python option must be placed before the pip subcommand name" in result.stdout + result.stderr
