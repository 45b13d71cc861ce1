"""ECS tasks and services, their ECR repositories, and Lambda functions."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from ._props import (
    as_bool,
    as_mapping,
    as_str,
    config_value,
    iter_mappings,
    json_document,
    known,
    present,
    references,
)

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
LAMBDA_URL = "aws:lambda/functionUrl:FunctionUrl"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
LAMBDA_INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"

IMAGE_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
ROOT_USERS = ("0", "root")

DEFAULT_SECRET_WORDS = [
    "PASSWORD",
    "PASSWD",
    "PASS",
    "PWD",
    "PASSPHRASE",
    "SECRET",
    "SECRETS",
    "TOKEN",
    "TOKENS",
    "KEY",
    "KEYS",
    "APIKEY",
    "CREDENTIAL",
    "CREDENTIALS",
]
# A name ending in one of these carries a reference to a secret, not the secret itself.
DEFAULT_REFERENCE_SUFFIXES = ["_ARN", "_NAME", "_FILE"]
# A name ending in one of these is a setting about a secret (IDEMPOTENCY_KEY_TTL_HOURS, TOKEN_TTL_SECONDS):
# with a number or a boolean as its value it carries no secret.
DEFAULT_QUANTITY_SUFFIXES = [
    "TTL",
    "HOURS",
    "MINUTES",
    "SECONDS",
    "DAYS",
    "MS",
    "TIMEOUT",
    "LENGTH",
    "SIZE",
    "BYTES",
    "COUNT",
    "LIMIT",
    "ENABLED",
]
_QUANTITY_VALUE = re.compile(r"^(\d+(\.\d+)?|true|false)$", re.IGNORECASE)
# Values that are secrets whatever the variable is called.
SECRET_VALUE_PATTERNS = [
    ("a URL with a password", re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]*:[^@\s/]+@", re.IGNORECASE)),
    (
        "a URL with a credential in its query",
        re.compile(r"[?&](password|passwd|pwd|token|secret|api[_-]?key|access[_-]?token|sig)=[^&\s]+", re.I),
    ),
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Stripe key", re.compile(r"\b[sr]k_(live|test)_[A-Za-z0-9]{16,}")),
]
_TOKEN_ALPHABET = re.compile(r"^[A-Za-z0-9+/=_-]+$")
# Random tokens of 20 or more characters from a large alphabet carry about 4 bits or more per character;
# identifiers, words and version strings carry far less.
TOKEN_MIN_LENGTH = 20
TOKEN_MIN_BITS_PER_CHAR = 3.5

# Runtimes AWS supports for new functions and does not plan to deprecate before 2027 (Lambda runtime
# deprecation schedule); review this list when AWS announces deprecations.
DEFAULT_LAMBDA_RUNTIMES = [
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "nodejs22.x",
    "nodejs24.x",
    "java17",
    "java21",
    "java25",
    "dotnet8",
    "dotnet10",
    "ruby3.3",
    "ruby3.4",
    "provided.al2023",
]


# ECS task definitions


def containers(args: ResourceValidationArgs) -> Iterator[Mapping[str, Any]]:
    """The container definitions of a task definition (none for other resource types)."""
    if args.resource_type != TASK_DEFINITION:
        return
    # During a preview the definitions may still be unknown (they embed the image digest): reading them
    # raises, and the SDK reports an advisory "can't run during preview" instead of a verdict.
    definitions = json_document(args.props.get("containerDefinitions"))
    if definitions is None:
        args.not_applicable("containerDefinitions is not a JSON document")
    yield from iter_mappings(definitions)


def _container_name(container: Mapping[str, Any]) -> str:
    return str(container.get("name") or "<unnamed>")


def _validate_non_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(args):
        user = as_str(container.get("user"))
        if user is None or user.split(":", 1)[0].strip() in ROOT_USERS or user.strip() == "":
            shown = "is not set, so the image's default applies" if user is None else f"is {user!r}"
            report(
                f"Container {_container_name(container)!r}: user {shown}. Set user to a non-root UID "
                "(StockWiz images run as '10001') so a compromise does not start as root.",
                None,
            )


def _validate_read_only_root(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(args):
        if as_bool(container.get("readonlyRootFilesystem")) is not True:
            report(
                f"Container {_container_name(container)!r} has a writable root filesystem. Set "
                "readonlyRootFilesystem=true and mount a volume at /tmp for scratch files.",
                None,
            )


def _validate_not_privileged(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(args):
        if as_bool(container.get("privileged")) is True:
            report(
                f"Container {_container_name(container)!r} is privileged (full access to the host). "
                "Remove privileged; Fargate does not need it.",
                None,
            )


def _validate_logging(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(args):
        log = as_mapping(container.get("logConfiguration"))
        if not as_str(log.get("logDriver")):
            report(
                f"Container {_container_name(container)!r} has no logConfiguration, so its output is "
                "lost. Send it to CloudWatch Logs with logDriver 'awslogs' and a log group with retention.",
                None,
            )


def secret_looking(name: str, words: list[str], suffixes: list[str]) -> bool:
    upper = name.upper()
    if any(upper.endswith(suffix.upper()) for suffix in suffixes):
        return False
    segments = [segment for segment in re.split(r"[^A-Z0-9]+", upper) if segment]
    word_set = {word.upper() for word in words}
    if any(segment in word_set for segment in segments):
        return True
    # Long words also count inside a segment (DBPASSWORD); short ones such as KEY only as a whole
    # segment, so MONKEY_COUNT stays allowed.
    return any(len(word) >= 6 and word in upper for word in word_set)


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def secret_value(value: str) -> str | None:
    """What kind of secret `value` looks like (a URL with a password, a token...), or None."""
    for what, pattern in SECRET_VALUE_PATTERNS:
        if pattern.search(value):
            return what
    if (
        len(value) >= TOKEN_MIN_LENGTH
        and not value.startswith("/")  # a path (an SSM parameter name), not a token
        and _TOKEN_ALPHABET.match(value)
        and re.search(r"[0-9]", value)
        and re.search(r"[A-Za-z]", value)
        and _entropy(value) >= TOKEN_MIN_BITS_PER_CHAR
    ):
        return "a random token"
    return None


@dataclass(frozen=True)
class SecretRules:
    words: list[str]
    suffixes: list[str]
    quantities: list[str]
    allowed: set[str]

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> SecretRules:
        return cls(
            list(config_value(config, "secretWords", DEFAULT_SECRET_WORDS)),
            list(config_value(config, "referenceSuffixes", DEFAULT_REFERENCE_SUFFIXES)),
            list(config_value(config, "quantitySuffixes", DEFAULT_QUANTITY_SUFFIXES)),
            set(config_value(config, "allowedNames", [])),
        )

    def problem(self, name: str, value: Any) -> str | None:
        """Why the variable `name`=`value` carries a secret in plain text, or None."""
        if not name or name in self.allowed:
            return None
        text = value if isinstance(value, str) else ""
        kind = secret_value(text)
        if kind is not None:
            return f"its value is {kind}"
        last = re.split(r"[^A-Z0-9]+", name.upper())[-1]
        if last in {q.upper() for q in self.quantities} and _QUANTITY_VALUE.match(text.strip()):
            return None
        if secret_looking(name, self.words, self.suffixes):
            return "its name says it is a secret"
        return None


_MOVE_TO_SECRETS = (
    "Move it to `secrets` with valueFrom a Secrets Manager secret or SSM SecureString parameter (for a "
    "connection URL, pass the host in the environment and the password as a secret)."
)


def _validate_no_secret_environment(args: ResourceValidationArgs, report: ReportViolation) -> None:
    rules = SecretRules.of(args.get_config())
    for container in containers(args):
        for variable in iter_mappings(container.get("environment")):
            name = str(variable.get("name") or "")
            problem = rules.problem(name, variable.get("value"))
            if problem:
                report(
                    f"Container {_container_name(container)!r} passes {name!r} in plain environment "
                    f"({problem}), where anyone who can describe the task definition reads it. "
                    + _MOVE_TO_SECRETS,
                    None,
                )


def _validate_lambda_no_secret_environment(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LAMBDA_FUNCTION:
        return
    rules = SecretRules.of(args.get_config())
    variables = as_mapping(as_mapping(args.props.get("environment")).get("variables"))
    for name in variables:
        problem = rules.problem(str(name), known(variables, name))
        if problem:
            report(
                f"The function's environment holds {name!r} ({problem}): anyone who can read the function's "
                "configuration reads it, and it is stored with every version. Keep the secret in Secrets "
                "Manager, pass its ARN (a name ending in _ARN) and read it at run time.",
                None,
            )


# Settings that must never reach AWS: each listed name is refused unless its value is one of the "off"
# spellings the services accept (pydantic booleans).
DEFAULT_FORBIDDEN_SETTINGS = ["ALLOW_OPEN", "CHAOS_ENABLED"]
_OFF_VALUES = ("", "0", "false", "f", "no", "n", "off")
DEFAULT_DATABASE_SSL_MODES = ["require", "verify-ca", "verify-full"]
# The services' default DB_SSLMODE (apps/stockwiz_runtime/db.py) is "disable": a database client without
# it speaks plain text.
SERVICE_DEFAULT_SSL_MODE = "disable"


def _validate_unsafe_settings(args: ResourceValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    forbidden = list(config_value(config, "forbiddenSettings", DEFAULT_FORBIDDEN_SETTINGS))
    modes = list(config_value(config, "databaseSslModes", DEFAULT_DATABASE_SSL_MODES))
    for container in containers(args):
        env = {
            str(v.get("name")): str(v.get("value") if v.get("value") is not None else "")
            for v in iter_mappings(container.get("environment"))
        }
        label = _container_name(container)
        for name in forbidden:
            if name in env and env[name].strip().lower() not in _OFF_VALUES:
                report(
                    f"Container {label!r} sets {name}={env[name]!r}. That switch is for a developer's "
                    "machine (no authentication, fault injection) and must never reach AWS: remove it or set "
                    "it to 'false'.",
                    None,
                )
        if "DB_HOST" in env:
            mode = env.get("DB_SSLMODE") or SERVICE_DEFAULT_SSL_MODE
            if mode not in modes:
                report(
                    f"Container {label!r} connects to the database with DB_SSLMODE={mode!r}"
                    f"{'' if 'DB_SSLMODE' in env else ' (the services default when it is unset)'}: "
                    f"credentials and data cross the network in clear text. Set DB_SSLMODE to one of "
                    f"{', '.join(modes)}.",
                    None,
                )
        url = env.get("DATABASE_URL")
        if url:
            found = re.search(r"[?&]sslmode=([a-z-]+)", url)
            mode = found.group(1) if found else SERVICE_DEFAULT_SSL_MODE
            if mode not in modes:
                report(
                    f"Container {label!r} connects with DATABASE_URL without TLS (sslmode={mode}). Add "
                    f"sslmode={modes[0]} (and keep the password out of the URL).",
                    None,
                )


def _validate_image_digest(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for container in containers(args):
        image = str(container.get("image") or "")
        if not IMAGE_DIGEST.search(image):
            report(
                f"Container {_container_name(container)!r} uses image {image!r} by tag. Reference it by "
                "digest (repository@sha256:...) so every task of a deployment runs the same bytes and a "
                "retagged image cannot slip in.",
                None,
            )


# ECS services


def _validate_no_public_ip(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ECS_SERVICE:
        return
    network = as_mapping(args.props.get("networkConfiguration"))
    if as_bool(network.get("assignPublicIp")) is True:
        report(
            "The service gives its tasks public IP addresses, which puts them on the internet. Set "
            "networkConfiguration.assignPublicIp=False and run the tasks in private subnets with a NAT "
            "gateway for outbound traffic.",
            None,
        )


def _validate_circuit_breaker(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ECS_SERVICE:
        return
    controller = as_mapping(args.props.get("deploymentController"))
    if (controller.get("type") or "ECS") != "ECS":
        args.not_applicable("the circuit breaker only applies to the ECS deployment controller")
    breaker = as_mapping(args.props.get("deploymentCircuitBreaker"))
    if as_bool(breaker.get("enable")) is not True or as_bool(breaker.get("rollback")) is not True:
        report(
            "A failing deployment would keep replacing tasks forever. Set deploymentCircuitBreaker "
            "enable=True and rollback=True so ECS stops it and returns to the last working revision.",
            None,
        )


def _validate_container_insights(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ECS_CLUSTER:
        return
    settings = {
        known(setting, "name"): known(setting, "value")
        for setting in iter_mappings(args.props.get("settings"))
    }
    if settings.get("containerInsights") not in ("enabled", "enhanced"):
        report(
            "Container Insights is off, so the running-task alarms see no data and per-task CPU and memory "
            "are invisible. Set settings=[{name: 'containerInsights', value: 'enabled'}].",
            None,
        )


# ECR


def _validate_scan_on_push(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ECR_REPOSITORY:
        return
    scanning = as_mapping(args.props.get("imageScanningConfiguration"))
    if as_bool(scanning.get("scanOnPush")) is not True:
        report(
            "Images pushed to this repository are not scanned for vulnerabilities. Set "
            "imageScanningConfiguration.scanOnPush=True.",
            None,
        )


def _validate_immutable_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != ECR_REPOSITORY:
        return
    mutability = args.props.get("imageTagMutability") or "MUTABLE"
    if mutability != "IMMUTABLE":
        report(
            f"imageTagMutability is {mutability!r}: a tag can be moved to different image bytes. Set "
            "imageTagMutability='IMMUTABLE'.",
            None,
        )


def _validate_lifecycle_policy(args: StackValidationArgs, report: ReportViolation) -> None:
    policies = [r for r in args.resources if r.resource_type == ECR_LIFECYCLE_POLICY]
    for repository in args.resources:
        if repository.resource_type != ECR_REPOSITORY:
            continue
        if not any(references(policy, "repository", repository, ("name", "id")) for policy in policies):
            report(
                f"ECR repository {repository.name} has no lifecycle policy, so images pile up and cost "
                "money forever. Add an aws.ecr.LifecyclePolicy that expires untagged and old images.",
                repository.urn,
            )


# Lambda


def _validate_lambda_runtime(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != LAMBDA_FUNCTION:
        return
    if args.props.get("packageType") == "Image":
        args.not_applicable("container-image functions bring their own runtime")
    allowed = list(config_value(args.get_config(), "allowedRuntimes", DEFAULT_LAMBDA_RUNTIMES))
    runtime = args.props.get("runtime")
    if runtime not in allowed:
        report(
            f"Runtime {runtime!r} is not a supported Lambda runtime (deprecated runtimes stop receiving "
            f"security patches, then block updates). Use one of: {', '.join(allowed)}.",
            None,
        )


def _validate_no_public_url(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type == LAMBDA_URL:
        if args.props.get("authorizationType") == "NONE":
            report(
                "This function URL lets anyone on the internet invoke the function without credentials. "
                "Remove the URL (StockWiz functions run on a schedule) or set authorizationType='AWS_IAM'.",
                None,
            )
    elif args.resource_type == LAMBDA_PERMISSION:
        principal = args.props.get("principal")
        url_auth = args.props.get("functionUrlAuthType")
        if url_auth == "NONE" or (
            principal == "*"
            and not present(args.props, "sourceArn")
            and not present(args.props, "sourceAccount")
        ):
            report(
                "This permission lets any principal invoke the function. Grant it to the one service that "
                "calls the function (for example scheduler.amazonaws.com) with a sourceArn.",
                None,
            )


def _function_keys() -> tuple[str, ...]:
    return ("arn", "name", "id", "qualifiedArn", "invokeArn")


def _validate_failure_destination(args: StackValidationArgs, report: ReportViolation) -> None:
    invoke_configs = [r for r in args.resources if r.resource_type == LAMBDA_INVOKE_CONFIG]
    for function in args.resources:
        if function.resource_type != LAMBDA_FUNCTION:
            continue
        dead_letter = as_mapping(known(function.props, "deadLetterConfig"))
        if present(dead_letter, "targetArn"):
            continue
        if any(_has_on_failure(config, function) for config in invoke_configs):
            continue
        report(
            f"Lambda function {function.name} drops events that fail after the asynchronous retries. "
            "Set deadLetterConfig.targetArn to an SQS queue or SNS topic, or add an "
            "aws.lambda_.FunctionEventInvokeConfig with destinationConfig.onFailure.",
            function.urn,
        )


def _has_on_failure(config: PolicyResource, function: PolicyResource) -> bool:
    if not references(config, "functionName", function, _function_keys()):
        return False
    destination = as_mapping(known(config.props, "destinationConfig"))
    on_failure = as_mapping(known(destination, "onFailure"))
    return present(on_failure, "destination")


_CONTAINER_NOTE = " (every container of every ECS task definition)"
_SECRET_SCHEMA = PolicyConfigSchema(
    properties={
        "secretWords": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_SECRET_WORDS,
            "description": "Words that mark an environment variable name as secret.",
        },
        "referenceSuffixes": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_REFERENCE_SUFFIXES,
            "description": "Name endings that mark a reference to a secret (an ARN), not a secret.",
        },
        "allowedNames": {
            "type": "array",
            "items": {"type": "string"},
            "default": [],
            "description": "Exact variable names reviewed and allowed despite matching a word.",
        },
        "quantitySuffixes": {
            "type": "array",
            "items": {"type": "string"},
            "default": DEFAULT_QUANTITY_SUFFIXES,
            "description": "Last name segments of settings about a secret (TTL, HOURS...), allowed "
            "with a number or boolean value.",
        },
    }
)

POLICIES = [
    ResourceValidationPolicy(
        name="ecs-service-no-public-ip",
        description="ECS services do not assign public IP addresses to their tasks.",
        validate=_validate_no_public_ip,
    ),
    ResourceValidationPolicy(
        name="ecs-service-circuit-breaker",
        description="ECS services use the deployment circuit breaker with rollback.",
        validate=_validate_circuit_breaker,
    ),
    ResourceValidationPolicy(
        name="ecs-container-non-root",
        description="Containers run as a non-root user" + _CONTAINER_NOTE + ".",
        validate=_validate_non_root,
    ),
    ResourceValidationPolicy(
        name="ecs-container-read-only-root",
        description="Containers have a read-only root filesystem" + _CONTAINER_NOTE + ".",
        validate=_validate_read_only_root,
    ),
    ResourceValidationPolicy(
        name="ecs-container-not-privileged",
        description="Containers are not privileged" + _CONTAINER_NOTE + ".",
        validate=_validate_not_privileged,
    ),
    ResourceValidationPolicy(
        name="ecs-container-logging",
        description="Containers send their logs somewhere" + _CONTAINER_NOTE + ".",
        validate=_validate_logging,
    ),
    ResourceValidationPolicy(
        name="ecs-container-no-secret-environment",
        description="Secret-looking names are passed as `secrets`, never in plain `environment`.",
        validate=_validate_no_secret_environment,
        config_schema=_SECRET_SCHEMA,
    ),
    ResourceValidationPolicy(
        name="ecs-container-no-unsafe-settings",
        description="Containers never run with developer switches on (ALLOW_OPEN, CHAOS_ENABLED) or with "
        "database TLS off" + _CONTAINER_NOTE + ".",
        validate=_validate_unsafe_settings,
        config_schema=PolicyConfigSchema(
            properties={
                "forbiddenSettings": {
                    "type": "array",
                    "items": {"type": "string"},
                    "default": DEFAULT_FORBIDDEN_SETTINGS,
                    "description": "Variables that must be absent or false.",
                },
                "databaseSslModes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "default": DEFAULT_DATABASE_SSL_MODES,
                    "description": "DB_SSLMODE / sslmode values accepted when a container reaches a "
                    "database.",
                },
            }
        ),
    ),
    ResourceValidationPolicy(
        name="ecs-container-image-digest",
        description="Container images are referenced by digest.",
        validate=_validate_image_digest,
    ),
    ResourceValidationPolicy(
        name="ecs-cluster-container-insights",
        description="ECS clusters publish Container Insights metrics (the running-task alarms read them).",
        validate=_validate_container_insights,
    ),
    ResourceValidationPolicy(
        name="ecr-scan-on-push",
        description="ECR repositories scan images on push.",
        validate=_validate_scan_on_push,
    ),
    ResourceValidationPolicy(
        name="ecr-immutable-tags",
        description="ECR repositories have immutable tags.",
        validate=_validate_immutable_tags,
    ),
    StackValidationPolicy(
        name="ecr-lifecycle-policy",
        description="Every ECR repository has a lifecycle policy.",
        validate=_validate_lifecycle_policy,
    ),
    ResourceValidationPolicy(
        name="lambda-supported-runtime",
        description="Lambda functions use a supported runtime.",
        validate=_validate_lambda_runtime,
        config_schema=PolicyConfigSchema(
            properties={
                "allowedRuntimes": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "default": DEFAULT_LAMBDA_RUNTIMES,
                    "description": "Lambda runtime identifiers that may be used.",
                }
            }
        ),
    ),
    ResourceValidationPolicy(
        name="lambda-no-public-access",
        description="Lambda functions have no public function URL and no invoke permission for everyone.",
        validate=_validate_no_public_url,
    ),
    ResourceValidationPolicy(
        name="lambda-no-secret-environment",
        description="Lambda functions hold no secret in their environment (by name or by value).",
        validate=_validate_lambda_no_secret_environment,
        config_schema=_SECRET_SCHEMA,
    ),
    StackValidationPolicy(
        name="lambda-failure-destination",
        description="Lambda functions have a dead-letter queue or an on-failure destination.",
        validate=_validate_failure_destination,
    ),
]
