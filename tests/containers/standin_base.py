"""A local stand-in for the Dockerfiles' official Python base, for machines that cannot pull it.

The Dockerfiles keep their digest-pinned `python:3.11.x-slim-bookworm`; the tests first try to pull it, and
only when that fails build this stand-in from Debian's own packages (debootstrap) and pass it as
`--build-arg PYTHON_IMAGE=...`, the one thing they override. It is never more lenient than the official
image where our builds could notice:
- the same Python minor version (Debian bookworm's python3 is 3.11, as the official image's 3.11.x);
- a pip at least as new as the official image's (CPython 3.11's ensurepip bundles pip 24.x; the stand-in
  has PIP_VERSION, newer), so the option ordering that pip 24.0 and later enforce is enforced here too;
- no EXTERNALLY-MANAGED marker (the official image has none; Debian's would refuse installs that the
  official image accepts, which would be stricter, not more lenient, but also not the same);
- `python` on PATH from /usr/local/bin, LANG=C.UTF-8, ca-certificates, netbase and tzdata, no compiler.
It also trusts this machine's extra certificate authorities (/usr/local/share/ca-certificates): the package
registries are reached through a TLS-inspecting proxy here, and a build's pip must reach PyPI.

The image is cached in the engine under a tag that hashes this recipe, so only the first run pays for
debootstrap (about a minute here) and later runs reuse it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.containers.engine import docker, image_exists

SUITE = "bookworm"
PIP_VERSION = "26.3"
PACKAGES = ("python3", "python3-venv", "python3-pip", "ca-certificates", "netbase", "tzdata")
EXTRA_CA_DIR = Path("/usr/local/share/ca-certificates")
DOCKERFILE = f"""\
FROM {{rootfs}}
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LANG=C.UTF-8
RUN rm -f /usr/lib/python3.11/EXTERNALLY-MANAGED \\
    && ln -s /usr/bin/python3 /usr/local/bin/python \\
    && python -m pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \\
        pip=={PIP_VERSION} \\
    && dpkg --purge python3-pip \\
    && ln -sf /usr/local/bin/pip3 /usr/local/bin/pip \\
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /root/.cache
CMD ["python3"]
"""


def _mirror() -> str:
    """The Debian mirror apt uses on this machine (deb822 or one-line sources), else Debian's CDN."""
    for path in [*sorted(Path("/etc/apt").glob("sources.list.d/*.sources")), Path("/etc/apt/sources.list")]:
        if not path.is_file():
            continue
        text = path.read_text()
        for match in re.finditer(r"^URIs:\s*(\S+)", text, re.MULTILINE):
            if "security" not in match.group(1):
                return match.group(1)
        for match in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", text, re.MULTILINE):
            return match.group(1)
    return "http://deb.debian.org/debian"


def _extra_cas() -> list[Path]:
    return sorted(EXTRA_CA_DIR.glob("*.crt")) if EXTRA_CA_DIR.is_dir() else []


def recipe_key() -> str:
    digest = hashlib.sha256()
    digest.update(DOCKERFILE.encode())
    digest.update(" ".join((SUITE, *PACKAGES)).encode())
    for ca in _extra_cas():
        digest.update(ca.read_bytes())
    return digest.hexdigest()[:16]


def standin_tag() -> str:
    return f"stockwiz-test/python-standin:3.11-{SUITE}-{recipe_key()}"


def ensure_standin() -> str:
    """The stand-in image's tag, built now unless the engine already has it."""
    tag = standin_tag()
    if image_exists(tag):
        return tag
    if shutil.which("debootstrap") is None:
        raise AssertionError("building the stand-in base needs debootstrap (apt-get install debootstrap)")
    rootfs_tag = f"stockwiz-test/debian-rootfs:{SUITE}-{recipe_key()}"
    with tempfile.TemporaryDirectory(prefix="stockwiz-rootfs-") as tmp:
        root = Path(tmp) / "root"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(PACKAGES)}",
                SUITE,
                str(root),
                _mirror(),
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
        for ca in _extra_cas():
            shutil.copy(ca, root / "usr/local/share/ca-certificates" / ca.name)
        subprocess.run(["chroot", str(root), "update-ca-certificates"], check=True, capture_output=True)
        archive = subprocess.run(["tar", "-C", str(root), "-c", "."], check=True, capture_output=True).stdout
        docker("import", "-", rootfs_tag, input=archive, timeout=600)
    docker(
        "build", "--network", "host", "--tag", tag, "-", input=DOCKERFILE.format(rootfs=rootfs_tag).encode()
    )
    docker("rmi", rootfs_tag, check=False)
    return tag
