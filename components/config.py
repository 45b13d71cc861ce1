"""The typed, validated stack configuration.

Every value a user may change lives in `Pulumi.<stack>.yaml` under the `stockwiz:` namespace; the defaults
here are the ones `Pulumi.yaml` declares (a test keeps the two in step). Validation happens before any
resource is declared, so a bad value stops `pulumi preview` with a message that names the key instead of
failing half-way through `pulumi up` with an AWS error.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import pulumi

NAMESPACE: Final = "stockwiz"

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS: Final = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


def _fargate_memory_by_cpu() -> dict[int, frozenset[int]]:
    """The task-level CPU units and memory (MiB) pairs Fargate accepts for Linux tasks."""
    gib = 1024
    return {
        256: frozenset({512, 1 * gib, 2 * gib}),
        512: frozenset(range(1 * gib, 4 * gib + 1, gib)),
        1024: frozenset(range(2 * gib, 8 * gib + 1, gib)),
        2048: frozenset(range(4 * gib, 16 * gib + 1, gib)),
        4096: frozenset(range(8 * gib, 30 * gib + 1, gib)),
        8192: frozenset(range(16 * gib, 60 * gib + 1, 4 * gib)),
        16384: frozenset(range(32 * gib, 120 * gib + 1, 8 * gib)),
    }


FARGATE_MEMORY_BY_CPU: Final = _fargate_memory_by_cpu()
NAT_STRATEGIES: Final = ("Single", "OnePerAz")
IMAGE_PLATFORMS: Final = {"linux/amd64": "X86_64", "linux/arm64": "ARM64"}
REQUIRED_TAGS: Final = ("Project", "Environment", "ManagedBy")

_DB_INSTANCE_CLASS = re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[A-Za-z0-9-]+$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOSTED_ZONE = re.compile(r"^Z[A-Z0-9]{1,31}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# What RestoreDBInstanceFromDBSnapshot takes: a manual snapshot's identifier, an automated one's
# ("rds:<instance>-<yyyy-mm-dd-hh-mm>"), or the ARN of either (shared from another account).
_SNAPSHOT = re.compile(
    r"^((rds:)?[a-zA-Z](-?[a-zA-Z0-9])*|arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:snapshot:(rds:)?[a-zA-Z](-?[a-zA-Z0-9])*)$"
)
_LAYER_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):\d{12}:layer:[A-Za-z0-9_-]+:\d+$")
_POSTGRES_VERSION = re.compile(r"^\d{2}(\.\d+)?$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
# Recurring EventBridge Scheduler expressions: rate(N unit) with the unit singular for 1 and plural
# otherwise, or a six-field cron(...). One-off at(...) would run the low-stock check once and never again.
_RATE = re.compile(r"^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$")
_CRON = re.compile(r"^cron\(\S+( \S+){5}\)$")

# Values that only stand in for the user's own (Pulumi.prod.yaml ships them as a template): AWS's
# documentation account ids and ids of one repeated digit, the names RFC 2606 reserves for examples, and
# the usual fill-me-in markers. They pass the format checks and would fail half-way through `pulumi up`.
_EXAMPLE_ACCOUNTS: Final = frozenset({"123456789012", "111122223333", "444455556666"})
_RESERVED_DOMAINS: Final = ("example.com", "example.net", "example.org")
_RESERVED_TLDS: Final = frozenset({"example", "test", "invalid", "localhost"})
_MARKERS = re.compile(r"\b(replace[-_ ]?me|change[-_ ]?me|fill[-_ ]?me|todo|fixme)\b|<[^>]*>", re.I)
_ZERO_UUID = re.compile(r"0{8}-0{4}-0{4}-0{4}-0{12}")
# What to put in place of a placeholder, per setting; {region} and {domain} are filled in.
_FILL_IN: Final = {
    "certificateArn": (
        "request a certificate for your domain in ACM in {region} (DNS validation), then "
        "`pulumi config set stockwiz:certificateArn <its ARN>` (aws acm list-certificates --region {region})"
    ),
    "domainName": (
        "the host name clients will use, covered by the certificate: "
        "`pulumi config set stockwiz:domainName shop.<your domain>`"
    ),
    "hostedZoneId": (
        "the Route 53 zone that holds {domain} "
        "(aws route53 list-hosted-zones-by-name --dns-name {domain}), or "
        "`pulumi config rm stockwiz:hostedZoneId` to point your DNS at the albDnsName output yourself"
    ),
    "alertEmails": (
        "the addresses that should receive alerts: "
        "`pulumi config set --path 'stockwiz:alertEmails[0]' <you@your domain>`, or [] for none"
    ),
}


class StockwizConfigError(ValueError):
    """A stack setting is missing or invalid; `key` is the full config key, e.g. `stockwiz:taskCpu`."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(f"invalid configuration {key}: {message}")


@dataclass(frozen=True)
class StackConfig:
    """Everything the program reads from the stack configuration, already validated."""

    stack: str
    region: str
    default_tags: Mapping[str, str]
    vpc_cidr: str = "10.0.0.0/16"
    availability_zone_count: int = 2
    nat_gateway_strategy: str = "Single"
    # Nobody by default (the stack's own NAT gateways aside): who may reach the load balancer is a decision.
    allowed_ingress_cidrs: tuple[str, ...] = ()
    certificate_arn: str | None = None
    domain_name: str | None = None
    hosted_zone_id: str | None = None
    image_platform: str = "linux/amd64"
    task_cpu: int = 256
    task_memory: int = 512
    desired_count: int = 1
    min_count: int = 1
    max_count: int = 1
    cpu_target_percent: int = 60
    requests_per_target: int = 500
    db_instance_class: str = "db.t4g.micro"
    db_engine_version: str = "16"
    db_allocated_storage_gb: int = 20
    db_max_allocated_storage_gb: int = 100
    db_multi_az: bool = False
    db_backup_retention_days: int = 7
    db_apply_immediately: bool = False
    deletion_protection: bool = False
    final_snapshot: bool = False
    # Create the database from this snapshot (README, "Backup and restore"). Setting or changing it replaces
    # the database; once set, it stays set (clearing it would replace the database again, empty).
    db_restore_snapshot: str | None = None
    log_retention_days: int = 7
    alert_emails: tuple[str, ...] = ()
    low_stock_schedule: str = "rate(15 minutes)"
    # The ADOT collector sidecars and the services' tracing (components/tracing.py); off saves its CPU.
    tracing: bool = True
    # The share of new traces the services record and send to X-Ray.
    tracing_sample_ratio: float = 0.05
    # The ADOT Lambda layer (Python, arm64, the stack's region) that traces the low-stock function's calls.
    lambda_otel_layer_arn: str | None = None
    # The shop's money (ISO 4217), passed to the gateway as CURRENCY; the UI shows prices and the stock
    # value in it.
    currency: str = "USD"

    @property
    def https(self) -> bool:
        return self.certificate_arn is not None

    @property
    def autoscaling(self) -> bool:
        return self.max_count > self.min_count

    @property
    def nat_gateway_count(self) -> int:
        return 1 if self.nat_gateway_strategy == "Single" else self.availability_zone_count

    @property
    def ingress_is_restricted(self) -> bool:
        return not any(ipaddress.ip_network(cidr).prefixlen == 0 for cidr in self.allowed_ingress_cidrs)

    @property
    def warnings(self) -> tuple[str, ...]:
        """What a user of this stack must know about its exposure (exported as the `warnings` output)."""
        if self.https:
            return ()
        reach = ", ".join(self.allowed_ingress_cidrs) or "nobody (only the stack's own NAT gateways)"
        found = [
            "HTTP only (no certificateArn): API bearer tokens and all data cross the network in the clear "
            f"between clients and the load balancer, which admits {reach}. Use tokens of this stack only for "
            "test data, or set certificateArn and domainName for HTTPS."
        ]
        if not self.ingress_is_restricted:
            found.append(
                "allowedIngressCidrs admits the whole internet over plain HTTP: anyone on the path can read "
                "and replay a token. Narrow it to your office or VPN ranges."
            )
        return tuple(found)

    @property
    def cpu_architecture(self) -> str:
        return IMAGE_PLATFORMS[self.image_platform]

    @classmethod
    def load(cls, stack: str | None = None) -> StackConfig:
        """Read and validate the configuration of the running stack."""
        reader = _Reader(pulumi.Config(NAMESPACE))
        aws = pulumi.Config("aws")
        region = aws.get("region")
        if not region or not _REGION.match(region):
            raise StockwizConfigError(
                "aws:region", f"must be an AWS region such as eu-west-1, got {region!r}"
            )
        stack_name = stack or pulumi.get_stack()
        config = cls(
            stack=stack_name,
            region=region,
            default_tags=_default_tags(aws, stack_name),
            vpc_cidr=reader.text("vpcCidr", cls.vpc_cidr, _check_vpc_cidr),
            availability_zone_count=reader.integer(
                "availabilityZoneCount", cls.availability_zone_count, 2, 6
            ),
            nat_gateway_strategy=reader.choice(
                "natGatewayStrategy", cls.nat_gateway_strategy, NAT_STRATEGIES
            ),
            allowed_ingress_cidrs=reader.strings(
                "allowedIngressCidrs", cls.allowed_ingress_cidrs, _check_ingress_cidr
            ),
            certificate_arn=reader.optional("certificateArn", _ACM_ARN, "an ACM certificate ARN"),
            domain_name=reader.optional(
                "domainName", _HOSTNAME, "a lower-case DNS name such as shop.example.com"
            ),
            hosted_zone_id=reader.optional("hostedZoneId", _HOSTED_ZONE, "a Route 53 hosted zone id"),
            image_platform=reader.choice("imagePlatform", cls.image_platform, tuple(IMAGE_PLATFORMS)),
            task_cpu=reader.choice_int("taskCpu", cls.task_cpu, tuple(FARGATE_MEMORY_BY_CPU)),
            task_memory=reader.integer("taskMemory", cls.task_memory, 512, 122880),
            desired_count=reader.integer("desiredCount", cls.desired_count, 1, 100),
            min_count=reader.integer("minCount", cls.min_count, 1, 100),
            max_count=reader.integer("maxCount", cls.max_count, 1, 100),
            cpu_target_percent=reader.integer("cpuTargetPercent", cls.cpu_target_percent, 10, 90),
            requests_per_target=reader.integer("requestsPerTarget", cls.requests_per_target, 10, 100000),
            db_instance_class=reader.text("dbInstanceClass", cls.db_instance_class, _check_db_class),
            db_engine_version=reader.text("dbEngineVersion", cls.db_engine_version, _check_pg_version),
            db_allocated_storage_gb=reader.integer(
                "dbAllocatedStorageGb", cls.db_allocated_storage_gb, 20, 65536
            ),
            db_max_allocated_storage_gb=reader.integer(
                "dbMaxAllocatedStorageGb", cls.db_max_allocated_storage_gb, 20, 65536
            ),
            db_multi_az=reader.boolean("dbMultiAz", cls.db_multi_az),
            db_backup_retention_days=reader.integer(
                "dbBackupRetentionDays", cls.db_backup_retention_days, 1, 35
            ),
            db_apply_immediately=reader.boolean("dbApplyImmediately", cls.db_apply_immediately),
            deletion_protection=reader.boolean("deletionProtection", cls.deletion_protection),
            final_snapshot=reader.boolean("finalSnapshot", cls.final_snapshot),
            db_restore_snapshot=reader.optional(
                "dbRestoreSnapshot", _SNAPSHOT, "an RDS DB snapshot identifier or ARN"
            ),
            log_retention_days=reader.integer("logRetentionDays", cls.log_retention_days, 1, 3653),
            alert_emails=reader.strings("alertEmails", (), _check_email),
            low_stock_schedule=reader.text(
                "lowStockSchedule", cls.low_stock_schedule, _check_schedule
            ).strip(),
            tracing=reader.boolean("tracing", cls.tracing),
            tracing_sample_ratio=reader.fraction("tracingSampleRatio", cls.tracing_sample_ratio),
            lambda_otel_layer_arn=reader.optional(
                "lambdaOtelLayerArn", _LAYER_ARN, "a layer version ARN (arn:aws:lambda:...:layer:...:N)"
            ),
            currency=reader.text("currency", cls.currency, _check_currency),
        )
        config.validate()
        return config

    def validate(self) -> None:
        """Checks that span several settings (single values are checked as they are read)."""
        memory = FARGATE_MEMORY_BY_CPU[self.task_cpu]
        if self.task_memory not in memory:
            raise StockwizConfigError(
                _key("taskMemory"),
                f"Fargate does not accept {self.task_memory} MiB with {self.task_cpu} CPU units; "
                f"allowed: {', '.join(str(m) for m in sorted(memory))}",
            )
        if not self.min_count <= self.desired_count <= self.max_count:
            raise StockwizConfigError(
                _key("desiredCount"),
                f"must lie between minCount ({self.min_count}) and maxCount ({self.max_count}), "
                f"got {self.desired_count}",
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise StockwizConfigError(
                _key("logRetentionDays"),
                f"CloudWatch Logs accepts only {', '.join(str(d) for d in sorted(LOG_RETENTION_DAYS))}",
            )
        if self.db_max_allocated_storage_gb < self.db_allocated_storage_gb:
            raise StockwizConfigError(
                _key("dbMaxAllocatedStorageGb"),
                f"must be at least dbAllocatedStorageGb ({self.db_allocated_storage_gb})",
            )
        layer = _LAYER_ARN.match(self.lambda_otel_layer_arn or "")
        if layer and layer["region"] != self.region:
            # Lambda takes layers from the function's own region only.
            raise StockwizConfigError(
                _key("lambdaOtelLayerArn"), f"must be a layer of {self.region}, got {layer['region']}"
            )
        if self.certificate_arn and not self.domain_name:
            # The certificate names a host; clients (and the Lambda) must call that host, not the ALB's name.
            raise StockwizConfigError(_key("domainName"), "is required when certificateArn is set")
        if self.hosted_zone_id and not self.domain_name:
            raise StockwizConfigError(_key("hostedZoneId"), "needs domainName, the record to create in it")
        if self.certificate_arn and self.certificate_arn.split(":")[3] != self.region:
            raise StockwizConfigError(
                _key("certificateArn"), f"an ALB needs a certificate from its own region ({self.region})"
            )
        self._refuse_placeholders()

    def _refuse_placeholders(self) -> None:
        """Stop on example values (all of them in one message), saying what to put in their place."""
        values: dict[str, Sequence[str]] = {
            "certificateArn": [self.certificate_arn] if self.certificate_arn else [],
            "domainName": [self.domain_name] if self.domain_name else [],
            "hostedZoneId": [self.hosted_zone_id] if self.hosted_zone_id else [],
            "alertEmails": self.alert_emails,
        }
        found = [
            (name, value, why)
            for name, items in values.items()
            for value in items
            if (why := placeholder_reason(value))
        ]
        if not found:
            return
        domain = self.domain_name if self.domain_name and not placeholder_reason(self.domain_name) else None
        lines = [
            f"  {_key(name)} = {value!r} ({why}): "
            + _FILL_IN[name].format(region=self.region, domain=domain or "<your domain>")
            for name, value, why in found
        ]
        raise StockwizConfigError(
            _key(found[0][0]),
            f"still holds example values from Pulumi.{self.stack}.yaml; replace them before "
            "`pulumi up`:\n" + "\n".join(lines),
        )


def placeholder_reason(value: str) -> str | None:
    """Why `value` (an ARN, host name, zone id or e-mail address) is a stand-in, or None if it is not."""
    marker = _MARKERS.search(value)
    if marker:
        return f"contains the marker {marker.group(0)!r}"
    if value.startswith("arn:"):
        parts = value.split(":")
        account = parts[4] if len(parts) > 4 else ""
        if account in _EXAMPLE_ACCOUNTS or (account and len(set(account)) == 1):
            return f"account {account} is an example account id"
        if _ZERO_UUID.search(value):
            return "an all-zero resource id"
        return None
    if value.startswith("Z") and ("EXAMPLE" in value.upper() or set(value[1:]) == {"0"}):
        return "an example hosted zone id"
    host = value.rsplit("@", 1)[-1].lower().rstrip(".")
    if host.rsplit(".", 1)[-1] in _RESERVED_TLDS or any(
        host == domain or host.endswith(f".{domain}") for domain in _RESERVED_DOMAINS
    ):
        return f"{host} is reserved for examples (RFC 2606)"
    return None


def _key(name: str) -> str:
    return f"{NAMESPACE}:{name}"


T = TypeVar("T")


class _Reader:
    """Reads one namespace, turning every type or range error into a StockwizConfigError naming the key."""

    def __init__(self, config: pulumi.Config) -> None:
        self._config = config

    def _get(self, name: str, read: Callable[[str], T | None]) -> T | None:
        try:
            return read(name)
        except pulumi.ConfigTypeError as error:
            raise StockwizConfigError(_key(name), str(error)) from error

    def text(self, name: str, default: str, check: Callable[[str], str | None]) -> str:
        value = self._get(name, self._config.get)
        value = default if value is None else value
        problem = check(value)
        if problem:
            raise StockwizConfigError(_key(name), problem)
        return value

    def optional(self, name: str, pattern: re.Pattern[str], what: str) -> str | None:
        value = self._get(name, self._config.get)
        if value is None or value == "":
            return None
        if not pattern.match(value):
            raise StockwizConfigError(_key(name), f"must be {what}, got {value!r}")
        return value

    def choice(self, name: str, default: str, allowed: Sequence[str]) -> str:
        value = self._get(name, self._config.get)
        value = default if value is None else value
        if value not in allowed:
            raise StockwizConfigError(_key(name), f"must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self._get(name, self._config.get_int)
        value = default if value is None else value
        if not low <= value <= high:
            raise StockwizConfigError(_key(name), f"must be between {low} and {high}, got {value}")
        return value

    def fraction(self, name: str, default: float) -> float:
        value = self._get(name, self._config.get_float)
        value = default if value is None else value
        if not 0 <= value <= 1:
            raise StockwizConfigError(_key(name), f"must be between 0 and 1, got {value}")
        return value

    def choice_int(self, name: str, default: int, allowed: Sequence[int]) -> int:
        value = self._get(name, self._config.get_int)
        value = default if value is None else value
        if value not in allowed:
            raise StockwizConfigError(
                _key(name), f"must be one of {', '.join(str(a) for a in allowed)}, got {value}"
            )
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name, self._config.get_bool)
        return default if value is None else value

    def strings(
        self, name: str, default: tuple[str, ...], check: Callable[[str], str | None]
    ) -> tuple[str, ...]:
        raw: Any = self._get(name, self._config.get_object)
        if raw is None:
            return default
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            raise StockwizConfigError(_key(name), "must be a list of strings")
        for item in raw:
            problem = check(item)
            if problem:
                raise StockwizConfigError(_key(name), problem)
        if len(set(raw)) != len(raw):
            raise StockwizConfigError(_key(name), "lists a value twice")
        return tuple(raw)


def _default_tags(aws: pulumi.Config, stack: str) -> Mapping[str, str]:
    """The provider's default tags: every taggable resource gets them, so they are checked up front."""
    raw: Any
    try:
        raw = aws.get_object("defaultTags")
    except pulumi.ConfigTypeError as error:
        raise StockwizConfigError("aws:defaultTags", str(error)) from error
    tags = raw.get("tags") if isinstance(raw, dict) else None
    if not isinstance(tags, dict):
        raise StockwizConfigError(
            "aws:defaultTags", "must be set to {tags: {Project, Environment, ManagedBy}}"
        )
    missing = [tag for tag in REQUIRED_TAGS if not tags.get(tag)]
    if missing:
        raise StockwizConfigError("aws:defaultTags", f"tags lack {', '.join(missing)}")
    if tags["Environment"] != stack:
        raise StockwizConfigError(
            "aws:defaultTags", f"tag Environment is {tags['Environment']!r} but the stack is {stack!r}"
        )
    return {str(key): str(value) for key, value in tags.items()}


def _check_vpc_cidr(value: str) -> str | None:
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError:
        return f"must be an IPv4 CIDR block such as 10.0.0.0/16, got {value!r}"
    if not 16 <= network.prefixlen <= 18 or not network.is_private:
        return f"must be a private block from /16 to /18 (room for six zones of subnets), got {value}"
    return None


def _check_ingress_cidr(value: str) -> str | None:
    try:
        ipaddress.IPv4Network(value)
    except ValueError:
        return f"{value!r} is not an IPv4 CIDR block with its host bits clear (such as 203.0.113.0/24)"
    return None


def _check_db_class(value: str) -> str | None:
    return (
        None
        if _DB_INSTANCE_CLASS.match(value)
        else f"must be an RDS instance class such as db.t4g.micro, got {value!r}"
    )


def _check_pg_version(value: str) -> str | None:
    if not _POSTGRES_VERSION.match(value) or int(value.split(".")[0]) < 14:
        return f"must be a PostgreSQL version of 14 or later such as 16 or 16.4, got {value!r}"
    return None


def _check_email(value: str) -> str | None:
    return None if _EMAIL.match(value) else f"{value!r} is not an e-mail address"


def _check_currency(value: str) -> str | None:
    # The format only: the gateway checks the code against ISO 4217's list when it starts (gateway.currency).
    if _CURRENCY.match(value):
        return None
    return f"must be an ISO 4217 currency code in capitals such as USD or EUR, got {value!r}"


def _check_schedule(value: str) -> str | None:
    expression = value.strip()
    if _RATE.match(expression) or _CRON.match(expression):
        return None
    return (
        "must be a recurring schedule such as 'rate(15 minutes)', 'rate(1 hour)' or "
        f"'cron(0/15 * * * ? *)', got {value!r}"
    )
