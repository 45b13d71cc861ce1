"""`make diff`: what a preview would show between two versions of the project, under the mocks.

Each scenario copies the project, edits the copy and compares it with an unedited copy, so the repository
itself is never touched. The image scenarios are the contract of issue 14: one service's change rebuilds,
re-registers and redeploys only that service, under a new tag.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tools import diff as diff_tool
from tools.diff import COMPUTED, IMAGE, SECRET, Change, compare, pushed_by, synthesize_tree
from tools.pulumi_mocks import REPLACE_ON_CHANGES, ROOT

TASK = "aws:ecs/taskDefinition:TaskDefinition"
SERVICE = "aws:ecs/service:Service"
SERVICES = ("gateway", "products", "inventory")


def copy_project(dest: Path) -> Path:
    """What the program reads (and a README and a test to edit), with the repository's file modes."""
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("__main__.py", "Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.prod.yaml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for name in ("components", "apps"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    (dest / "tests/infra").mkdir(parents=True)
    shutil.copy2(ROOT / "tests/infra/conftest.py", dest / "tests/infra/conftest.py")
    return dest


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = copy_project(tmp_path_factory.mktemp("base") / "project")
    return root, synthesize_tree(root, "dev")


@pytest.fixture
def preview(
    base: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> Callable[[Callable[[Path], None]], list[Change]]:
    def run(edit: Callable[[Path], None]) -> list[Change]:
        head = copy_project(tmp_path / "head")
        edit(head)
        changes, unchanged = compare(base[1], synthesize_tree(head, "dev", pushed_by(base[1])), base[0], head)
        assert unchanged > 50
        assert_no_push_reuses_a_tag(changes, pushed_by(base[1]))
        return changes

    return run


def dev_settings(*changes: tuple[str, str]) -> Callable[[Path], None]:
    """An edit of the copy's Pulumi.dev.yaml: each line `old` (which must be there) becomes `new`."""

    def edit(root: Path) -> None:
        stack_file = root / "Pulumi.dev.yaml"
        text = stack_file.read_text()
        for old, new in changes:
            assert old in text, old
            text = text.replace(old, new)
        stack_file.write_text(text)

    return edit


def assert_no_push_reuses_a_tag(changes: list[Change], registry: dict[str, dict[str, str]]) -> None:
    """Whenever the provider would rebuild and push, it is under a tag ECR does not hold yet."""
    for change in changes:
        if change.type == IMAGE and change.op in {"update", "create"}:
            assert "imageName" in change.inputs, f"{change.name} is rebuilt and pushed under its old tag"
            repository, tag = str(change.inputs["imageName"][1]).rsplit(":", 1)
            assert tag not in registry.get(repository.split("/", 1)[1], {}), (
                f"{change.name} pushes {tag} again"
            )


def append(path: Path, text: str = "# changed\n") -> None:
    with path.open("a") as handle:
        handle.write(text)


def ops(changes: list[Change]) -> set[tuple[str, str, str]]:
    return {(change.op, change.type, change.name) for change in changes}


def rollout(service: str) -> set[tuple[str, str, str]]:
    """A code change of one service: rebuild and push, a new task definition revision, a deployment."""
    return {
        ("update", IMAGE, f"{service}-image"),
        ("replace", TASK, f"{service}-task"),
        ("update", SERVICE, f"{service}-service"),
    }


def test_an_unchanged_project_shows_nothing(
    preview: Callable[[Callable[[Path], None]], list[Change]],
) -> None:
    assert preview(lambda root: None) == []


def test_one_service_change_rolls_out_only_that_service(
    preview: Callable[[Callable[[Path], None]], list[Change]],
) -> None:
    changes = preview(lambda root: append(root / "apps/products/handlers.py"))
    assert ops(changes) == rollout("products")
    by_name = {change.name: change for change in changes}
    assert set(by_name["products-image"].inputs) == {"imageName", "build.contextDigest"}
    task = by_name["products-task"]
    assert task.replaced_by == ["containerDefinitions"]
    assert task.inputs["containerDefinitions"][1] == COMPUTED  # the new digest is known only after the push
    service = by_name["products-service"].inputs
    assert set(service) == {"taskDefinition"} and service["taskDefinition"][1] == COMPUTED


def test_a_shared_runtime_change_rolls_out_every_service(
    preview: Callable[[Callable[[Path], None]], list[Change]],
) -> None:
    changes = preview(lambda root: append(root / "apps/stockwiz_runtime/db.py"))
    assert ops(changes) == set().union(*(rollout(service) for service in SERVICES))


def test_documentation_tests_and_other_code_change_nothing_deployed_as_an_image(
    preview: Callable[[Callable[[Path], None]], list[Change]],
) -> None:
    def edit(root: Path) -> None:
        append(root / "README.md", "\nMore words.\n")
        append(root / "tests/infra/conftest.py")
        (root / "apps/products/tests").mkdir()
        (root / "apps/products/tests/test_new.py").write_text("assert True\n")
        (root / "apps/gateway/__pycache__").mkdir()
        (root / "apps/gateway/__pycache__/app.cpython-311.pyc").write_bytes(b"\0")

    assert preview(edit) == []


def test_a_lambda_change_updates_only_the_function(
    preview: Callable[[Callable[[Path], None]], list[Change]],
) -> None:
    changes = preview(lambda root: append(root / "apps/lowstock/handler.py"))
    assert ops(changes) == {("update", "aws:lambda/function:Function", "lowstock-function")}


def test_a_setting_that_forces_replacement_is_shown_as_one(
    preview: Callable[[Callable[[Path], None]], list[Change]],
) -> None:
    changes = preview(
        dev_settings(
            ("stockwiz:taskCpu: 256", "stockwiz:taskCpu: 512"),
            ("stockwiz:taskMemory: 512", "stockwiz:taskMemory: 1024"),
        )
    )
    tasks = [change for change in changes if change.type == TASK]
    assert {change.name for change in tasks} == {f"{service}-task" for service in SERVICES}
    assert all(change.op == "replace" and change.replaced_by == ["cpu", "memory"] for change in tasks)
    assert all(change.inputs["cpu"] == ("256", "512") for change in tasks)
    # The services move to the new revisions; no image is rebuilt.
    assert {(c.op, c.name) for c in changes if c.type == SERVICE} == {
        ("update", f"{service}-service") for service in SERVICES
    }
    assert not [change for change in changes if change.type == IMAGE]


def test_a_revert_builds_the_old_content_under_a_tag_ecr_never_held(
    base: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    """Content that comes back would come back with its old tag, which ECR refuses to be pushed again."""
    original_root, original = base
    changed_root = copy_project(tmp_path / "changed")
    append(changed_root / "apps/products/handlers.py")
    changed = synthesize_tree(changed_root, "dev", pushed_by(original))
    registry = pushed_by(original)
    registry["stockwiz-product-service-dev"].update(pushed_by(changed)["stockwiz-product-service-dev"])
    reverted = synthesize_tree(original_root, "dev", registry)
    changes, _ = compare(changed, reverted, changed_root, original_root)
    assert ops(changes) == rollout("products")
    assert_no_push_reuses_a_tag(changes, registry)
    tags = {
        name: str(next(r for r in synthesis if r["name"] == "products-image")["inputs"]["imageName"]).rsplit(
            ":"
        )[-1]
        for name, synthesis in {"original": original, "changed": changed, "reverted": reverted}.items()
    }
    # The same content part as the original, a generation the repository has not seen.
    assert (
        tags["reverted"].split("-g")[0] == tags["original"].split("-g")[0] != tags["changed"].split("-g")[0]
    )
    assert [tag.split("-g")[1] for tag in tags.values()] == ["1", "2", "3"]


# -- the comparison rules, on hand-made resources ----------------------------------------------------------


def resource(name: str, typ: str = "aws:ec2/securityGroup:SecurityGroup", **fields: Any) -> dict[str, Any]:
    return {
        "type": typ,
        "name": name,
        "urn": f"urn:pulumi:dev::stockwiz::{typ}::{name}",
        "custom": True,
        "inputs": {},
        "secret_inputs": [],
        "property_dependencies": {},
        "ignore_changes": [],
        "delete_before_replace": False,
        **fields,
    }


def test_create_update_replace_delete_and_ignore_changes() -> None:
    old = [
        resource("kept", inputs={"description": "a", "tags": {"x": "1"}}),
        resource("renamed", inputs={"description": "a"}),
        resource("gone"),
        resource("scaled", typ=SERVICE, inputs={"desiredCount": 1, "name": "s"}),
    ]
    new = [
        resource("kept", inputs={"description": "a", "tags": {"x": "2"}}),
        resource("renamed", inputs={"description": "b"}, delete_before_replace=True),
        resource("added"),
        resource(
            "scaled", typ=SERVICE, inputs={"desiredCount": 3, "name": "s"}, ignore_changes=["desiredCount"]
        ),
    ]
    changes, unchanged = compare(old, new, ROOT, ROOT)
    assert unchanged == 1
    by_name = {change.name: change for change in changes}
    assert by_name["kept"].op == "update" and by_name["kept"].inputs == {"tags.x": ("1", "2")}
    assert by_name["renamed"].op == "replace" and by_name["renamed"].replaced_by == ["description"]
    assert by_name["renamed"].delete_before_replace
    assert by_name["added"].op == "create" and by_name["gone"].op == "delete"
    assert changes[-1].name == "gone"


def test_secrets_are_masked_and_unknown_outputs_propagate() -> None:
    old = [
        resource("role", typ="aws:iam/role:Role", inputs={"name": "r1"}),
        resource("policy", typ="aws:iam/rolePolicy:RolePolicy", inputs={"role": "r1", "policy": "p"}),
        resource(
            "secret", typ="aws:secretsmanager/secretVersion:SecretVersion", inputs={"secretString": "old"}
        ),
    ]
    new = [
        resource("role", typ="aws:iam/role:Role", inputs={"name": "r2"}),
        resource(
            "policy",
            typ="aws:iam/rolePolicy:RolePolicy",
            inputs={"role": "r2", "policy": "p"},
            property_dependencies={"role": [old[0]["urn"]]},
        ),
        resource(
            "secret",
            typ="aws:secretsmanager/secretVersion:SecretVersion",
            inputs={"secretString": "new"},
            secret_inputs=["secretString"],
        ),
    ]
    changes, _ = compare(old, new, ROOT, ROOT)
    by_name = {change.name: change for change in changes}
    assert by_name["role"].op == "replace"
    assert by_name["policy"].op == "replace" and by_name["policy"].inputs == {"role": ("r1", COMPUTED)}
    assert by_name["secret"].inputs == {"secretString": (SECRET, SECRET)}
    rendered = diff_tool.render("dev", "main", changes, 0)
    assert "old" not in rendered.split("secretString")[1] and "[secret]" in rendered
    assert "Resources: 0 to create, 0 to update, 3 to replace, 0 to delete, 0 unchanged" in rendered


def test_a_type_without_known_replacement_rules_is_flagged() -> None:
    old = [resource("thing", typ="aws:ec2/instance:Instance", inputs={"ami": "a"})]
    new = [resource("thing", typ="aws:ec2/instance:Instance", inputs={"ami": "b"})]
    [change] = compare(old, new, ROOT, ROOT)[0]
    assert "no replacement rule known" in change.note


def test_every_resource_type_of_both_stacks_has_replacement_rules(synths: dict[str, Any]) -> None:
    # awsx's VPC children included: the mocks model their inputs (tools/awsx_vpc.py), so they are diffed.
    types = {r.type for synthesis in synths.values() for r in synthesis.resources if r.custom}
    assert types - set(REPLACE_ON_CHANGES) == set()


def test_a_new_vpc_cidr_replaces_what_awsx_creates_in_the_vpc(
    preview: Callable[[Callable[[Path], None]], list[Change]],
) -> None:
    changes = preview(dev_settings(("stockwiz:vpcCidr: 10.10.0.0/16", "stockwiz:vpcCidr: 10.30.0.0/16")))
    ops = {(change.type.split(":")[-1], change.op) for change in changes}
    for kind in ("Vpc", "Subnet", "RouteTable", "Route", "RouteTableAssociation", "NatGateway"):
        assert (kind, "replace") in ops, kind
    assert ("InternetGateway", "update") in ops


def test_make_diff_against_a_git_ref(capsys: pytest.CaptureFixture[str]) -> None:
    assert diff_tool.main(["--base", "HEAD", "--stack", "dev"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("Offline preview of stack dev: HEAD -> working tree")
    assert "\nResources: " in output and " unchanged" in output
    assert diff_tool.main(["--base", "no-such-ref-anywhere"]) == 2


def test_the_mocked_registry_answers_like_ecr() -> None:
    from tools.pulumi_mocks import StockwizMocks, _Recorder

    mocks = StockwizMocks("dev", "eu-west-1", {}, _Recorder(), pushed_images={"repo": {"t1": "sha256:abc"}})
    assert mocks._invokes()["aws:ecr/getRepositories:getRepositories"]({})["names"] == ["repo"]
    images = mocks._invokes()["aws:ecr/getImages:getImages"]({"repositoryName": "repo"})["imageIds"]
    assert images == [{"imageDigest": "sha256:abc", "imageTag": "t1"}]
    # ListImages on a repository that does not exist is an error, which is why the program asks first.
    with pytest.raises(ValueError, match="RepositoryNotFoundException"):
        mocks._invokes()["aws:ecr/getImages:getImages"]({"repositoryName": "other"})


def test_an_ignored_image_build_is_still_rebuilt_when_its_context_changes(tmp_path: Path) -> None:
    """The engine applies ignore_changes before the provider's Check, and pulumi-docker's Check recomputes
    the context digest: ignoring `build` and `imageName` does not stop a rebuild (and a push under the old,
    ignored name)."""
    roots = {}
    for side, text in {"old": "v1", "new": "v2"}.items():
        root = tmp_path / side
        (root / "ctx/app").mkdir(parents=True)
        (root / "ctx/app/Dockerfile").write_text("FROM scratch\nCOPY app /app\n")
        (root / "ctx/app/Dockerfile.dockerignore").write_text("**/Dockerfile\n**/*.dockerignore\n")
        (root / "ctx/app/main.py").write_text(text)
        roots[side] = root
    build = {"context": "ctx", "dockerfile": "ctx/app/Dockerfile", "platform": "linux/amd64"}
    old = resource("image", typ=IMAGE, inputs={"imageName": "repo:src-a-g1", "build": build})
    new = resource(
        "image",
        typ=IMAGE,
        inputs={"imageName": "repo:src-b-g2", "build": build},
        ignore_changes=["imageName", "build"],
    )
    [change] = compare([old], [new], roots["old"], roots["new"])[0]
    assert change.op == "update" and set(change.inputs) == {"build.contextDigest"}


def test_nested_ignore_changes_keep_only_that_field() -> None:
    old = [resource("svc", typ=SERVICE, inputs={"name": "s", "cfg": {"a": 1, "b": 1}})]
    new = [
        resource("svc", typ=SERVICE, inputs={"name": "s", "cfg": {"a": 2, "b": 2}}, ignore_changes=["cfg.a"])
    ]
    [change] = compare(old, new, ROOT, ROOT)[0]
    assert change.inputs == {"cfg.b": (1, 2)}


def test_an_alias_moves_a_resource_instead_of_replacing_it() -> None:
    old = [resource("old-name", inputs={"description": "a"})]
    moved = resource("new-name", inputs={"description": "a"})
    plain = resource("new-name", inputs={"description": "a"})
    moved["aliases"] = [old[0]["urn"]]
    [change] = compare(old, [moved], ROOT, ROOT)[0]
    assert change.op == "update" and "renamed from" in change.note and change.inputs == {}
    assert ops(compare(old, [plain], ROOT, ROOT)[0]) == {
        ("create", "aws:ec2/securityGroup:SecurityGroup", "new-name"),
        ("delete", "aws:ec2/securityGroup:SecurityGroup", "old-name"),
    }
