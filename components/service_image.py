"""ServiceImage: one service's ECR repository and the image built from its source and pushed there."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.image_tag import content_tag, image_tag
from components.urns import SERVICE_IMAGE, moved_from

# The Docker build context: every service image is built from apps/ with apps/<package>/Dockerfile, whose
# apps/<package>/Dockerfile.dockerignore narrows the context to what that Dockerfile copies.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUILD_CONTEXT = "apps"
IMAGE_BUILDER = docker.BuilderVersion.BUILDER_BUILD_KIT
IMAGE_BUILD_ON_PREVIEW = False


@dataclass(frozen=True)
class ServiceImageArgs:
    # The Python package under apps/ whose Dockerfile builds the image.
    package: str
    # The repository's fixed name (e.g. stockwiz-api-gateway-dev): tags are looked up by it before it exists.
    repository_name: str
    image_platform: str
    # ECR refuses to delete a repository holding images unless told to; only a protected stack keeps them.
    force_delete_images: bool = True
    # The URN of the component that declared these resources before this one existed (their alias parent).
    moved_from: pulumi.Input[str] | None = None


class ServiceImage(pulumi.ComponentResource):
    """ECR repository (immutable tags, scan on push, lifecycle), the image built and pushed by digest."""

    repository: aws.ecr.Repository
    repository_url: pulumi.Output[str]
    # repository@sha256:..., so a task always runs exactly the bytes that were built and scanned.
    image_ref: pulumi.Output[str]

    def __init__(self, name: str, args: ServiceImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(SERVICE_IMAGE, name, None, opts)
        self._name = name
        self._args = args
        child = pulumi.ResourceOptions(parent=self, aliases=moved_from(args.moved_from))
        self.repository = self._repository(child)
        self.repository_url = self.repository.repository_url
        self.image_ref = self._image(self.repository, child)
        self.register_outputs({"repositoryUrl": self.repository_url, "image": self.image_ref})

    def _repository(self, child: pulumi.ResourceOptions) -> aws.ecr.Repository:
        repository = aws.ecr.Repository(
            f"{self._name}-repo",
            name=self._args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            force_delete=self._args.force_delete_images,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{self._name}-repo-lifecycle",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "Drop untagged layers of superseded builds after a day",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": 1,
                            },
                            "action": {"type": "expire"},
                        },
                        {
                            "rulePriority": 2,
                            "description": "Keep the 30 most recent builds (rollbacks need a few)",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": 30,
                            },
                            "action": {"type": "expire"},
                        },
                    ]
                }
            ),
            opts=child,
        )
        return repository

    def _image(self, repository: aws.ecr.Repository, child: pulumi.ResourceOptions) -> pulumi.Output[str]:
        args = self._args
        dockerfile = f"{BUILD_CONTEXT}/{args.package}/Dockerfile"
        # Every input of the image but its name and registry, as the provider receives them: the tag hashes
        # exactly these (and the provider's context digest), so it changes whenever the provider would
        # rebuild and push (components/image_tag.py).
        build_inputs = {
            "context": BUILD_CONTEXT,
            "dockerfile": dockerfile,
            "platform": args.image_platform,
            "builderVersion": IMAGE_BUILDER.value,
        }
        content = content_tag(
            PROJECT_ROOT,
            {"build": build_inputs, "buildOnPreview": IMAGE_BUILD_ON_PREVIEW, "skipPush": False},
        )
        tag = image_tag(content, self.pushed_tags())
        credentials = aws.ecr.get_authorization_token_output(
            registry_id=repository.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        image = docker.Image(
            f"{self._name}-image",
            image_name=repository.repository_url.apply(lambda url: f"{url}:{tag}"),
            build=docker.DockerBuildArgs(
                context=build_inputs["context"],
                dockerfile=build_inputs["dockerfile"],
                platform=build_inputs["platform"],
                builder_version=IMAGE_BUILDER,
            ),
            registry=docker.RegistryArgs(
                server=repository.repository_url,
                username=credentials.user_name,
                password=pulumi.Output.secret(credentials.password),
            ),
            # Preview neither builds nor pushes; `pulumi up` builds, pushes and records the digest.
            build_on_preview=IMAGE_BUILD_ON_PREVIEW,
            skip_push=False,
            opts=child,
        )
        return image.repo_digest

    def pushed_tags(self) -> list[str]:
        """The tags this repository holds (none before its first deployment).

        Read at program time, in preview and in `pulumi up` alike, because they decide the image's name;
        the repository's name is fixed, so it can be looked up before `pulumi up` creates anything.
        """
        invoke = pulumi.InvokeOptions(parent=self)
        name = self._args.repository_name
        if name not in aws.ecr.get_repositories(opts=invoke).names:
            return []
        images = aws.ecr.get_images(repository_name=name, opts=invoke).image_ids
        return [image.image_tag for image in images if image.image_tag]
