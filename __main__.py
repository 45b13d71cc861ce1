"""StockWiz on AWS: read the stack configuration, wire the components, export what users need."""

import pulumi

from components.api_tokens import ApiTokensArgs, StockwizApiTokens
from components.cluster import ClusterArgs, StockwizCluster
from components.config import StackConfig
from components.database import DatabaseArgs, StockwizDatabase
from components.lowstock_lambda import LambdaArgs, StockwizLambda
from components.monitoring import MonitoredService, MonitoringArgs, StockwizMonitoring
from components.network import NetworkArgs, StockwizNetwork
from components.security import Rule, SecurityGroupArgs, SecurityPath, SecurityPathArgs, ServiceSecurityGroup
from components.service import LoadBalancerAttachment, ServiceArgs, ServicePlatform, SetupContainer
from components.service import StockwizService as Service
from components.urns import DATABASE, SERVICE, legacy_urn

cfg = StackConfig.load()
stack = cfg.stack
lowstock_function_name = f"stockwiz-lowstock-{stack}"

network = StockwizNetwork(
    "network",
    NetworkArgs(
        stack=stack,
        vpc_cidr=cfg.vpc_cidr,
        availability_zone_count=cfg.availability_zone_count,
        nat_gateway_strategy=cfg.nat_gateway_strategy,
        allowed_ingress_cidrs=cfg.allowed_ingress_cidrs,
        ingress_is_restricted=cfg.ingress_is_restricted,
        certificate_arn=cfg.certificate_arn,
        domain_name=cfg.domain_name,
        hosted_zone_id=cfg.hosted_zone_id,
        deletion_protection=cfg.deletion_protection,
    ),
)
cluster = StockwizCluster("cluster", ClusterArgs(stack=stack, namespace_arn=network.namespace_arn))
tokens = StockwizApiTokens(
    "api-tokens", ApiTokensArgs(stack=stack, recovery_window_days=30 if cfg.deletion_protection else 0)
)

database = StockwizDatabase(
    "database",
    DatabaseArgs(
        stack=stack,
        vpc_id=network.vpc_id,
        subnet_ids=network.private_subnet_ids,
        instance_class=cfg.db_instance_class,
        engine_version=cfg.db_engine_version,
        allocated_storage_gb=cfg.db_allocated_storage_gb,
        max_allocated_storage_gb=cfg.db_max_allocated_storage_gb,
        multi_az=cfg.db_multi_az,
        backup_retention_days=cfg.db_backup_retention_days,
        deletion_protection=cfg.deletion_protection,
        final_snapshot=cfg.final_snapshot,
        log_retention_days=cfg.log_retention_days,
        apply_immediately=cfg.db_apply_immediately,
        restore_snapshot=cfg.db_restore_snapshot,
    ),
)
db = database.connection


platform = ServicePlatform(
    stack=stack,
    region=cfg.region,
    cluster_arn=cluster.arn,
    cluster_name=cluster.name,
    vpc_id=network.vpc_id,
    subnet_ids=network.private_subnet_ids,
    namespace_arn=network.namespace_arn,
    cpu=cfg.task_cpu,
    memory=cfg.task_memory,
    image_platform=cfg.image_platform,
    cpu_architecture=cfg.cpu_architecture,
    desired_count=cfg.desired_count,
    min_count=cfg.min_count,
    max_count=cfg.max_count,
    cpu_target_percent=cfg.cpu_target_percent,
    requests_per_target=cfg.requests_per_target,
    log_retention_days=cfg.log_retention_days,
    force_delete_images=not cfg.deletion_protection,
    tracing_sample_ratio=cfg.tracing_sample_ratio if cfg.tracing else None,
)


# Where the database is, and that its certificate must be the RDS CA's, for the name we connect to.
db_location: dict[str, pulumi.Input[str]] = {
    "DB_HOST": db.host,
    "DB_PORT": str(db.port),
    "DB_NAME": db.name,
    "DB_SSLMODE": "verify-full",
}
# Each data task first runs db-setup with the master credentials (read from the RDS-managed secret when the
# task starts): the roles, the migrations as the schema owner, the grants. Then the service logs in as its
# own role with an IAM token per connection; it never holds the master credentials.
db_setup = SetupContainer(
    name="db-setup",
    command=["python", "-m", "stockwiz_runtime.dbsetup"],
    environment={
        **db_location,
        "DB_APP_USER": db.app_user,
        "DB_OWNER_ROLE": db.owner_role,
        "DB_APP_AUTH": "iam",
    },
    secrets={
        "DB_USER": db.secret_arn.apply(lambda arn: f"{arn}:username::"),
        "DB_PASSWORD": db.secret_arn.apply(lambda arn: f"{arn}:password::"),
    },
)


def security_group(name: str, physical: str, port: int) -> ServiceSecurityGroup:
    """A service's own group, made before the service: the paths below need it, and a caller's tasks start
    only once its paths are open. Its resources were the service component's children before."""
    return ServiceSecurityGroup(
        name,
        SecurityGroupArgs(
            physical_name=physical, port=port, vpc_id=network.vpc_id, moved_from=legacy_urn(SERVICE, name)
        ),
    )


def data_service(name: str, physical: str, port: int) -> Service:
    return Service(
        name,
        ServiceArgs(
            platform=platform,
            package=name,
            physical_name=physical,
            port=port,
            security_group=groups[name],
            environment={
                **db_location,
                "DB_USER": db.app_user,
                "DB_AUTH": "iam",
                "AWS_REGION": cfg.region,
                # db-setup has migrated before this container starts; its role may not change the schema.
                "MIGRATE_ON_START": "false",
                "SEED_DEMO_DATA": "false",
            },
            # Read by the execution role for db-setup's container only.
            secret_arns=[db.secret_arn],
            setup=db_setup,
            database_user_arn=db.app_user_arn,
            discovery_name=name,
        ),
    )


physical_names = {
    "gateway": f"stockwiz-api-gateway-{stack}",
    "products": f"stockwiz-product-service-{stack}",
    "inventory": f"stockwiz-inventory-service-{stack}",
}
ports = {"gateway": 8000, "products": 8001, "inventory": 8002}
groups = {
    name: security_group(name, physical_names[name], ports[name])
    for name in ("products", "inventory", "gateway")
}


# --- the paths between security groups (components/security.py): each pair of rules has this one owner.
# The rules' names and their aliases are those they had when the service and database components declared
# them, so an existing stack keeps every rule (tests/infra/test_infra_aliases.py).


def database_path(name: str) -> SecurityPath:
    """A data service to PostgreSQL."""
    return SecurityPath(
        f"{name}-to-database",
        SecurityPathArgs(
            source_group_id=groups[name].id,
            target_group_id=db.security_group_id,
            port=db.port,
            ingress=Rule(f"database-in-{name}", f"PostgreSQL from {name}", legacy_urn(DATABASE, "database")),
            egress=Rule(f"{name}-out-db", "PostgreSQL to the database", legacy_urn(SERVICE, name)),
        ),
    )


def call_path(caller: str, callee: str) -> SecurityPath:
    """A service to a service it calls through Service Connect. The caller's component declared these
    rules, and before it the callee's, as <callee>-in-<caller> and <callee>-from-<caller>."""
    earlier = legacy_urn(SERVICE, caller)
    return SecurityPath(
        f"{caller}-to-{callee}",
        SecurityPathArgs(
            source_group_id=groups[caller].id,
            target_group_id=groups[callee].id,
            port=ports[callee],
            ingress=Rule(
                f"{caller}-into-{callee}", f"{callee} port from {caller}", earlier, [f"{callee}-in-{caller}"]
            ),
            egress=Rule(
                f"{caller}-to-{callee}", f"{caller} to {callee}", earlier, [f"{callee}-from-{caller}"]
            ),
        ),
    )


database_paths = [database_path(name) for name in ("products", "inventory")]
gateway_calls = [call_path("gateway", callee) for callee in ("products", "inventory")]
# The load balancer to the gateway.
SecurityPath(
    "alb-to-gateway",
    SecurityPathArgs(
        source_group_id=network.alb_security_group_id,
        target_group_id=groups["gateway"].id,
        port=ports["gateway"],
        ingress=Rule("gateway-in-alb", "gateway port from alb", legacy_urn(SERVICE, "gateway")),
        egress=Rule("gateway-from-alb", "alb to gateway", legacy_urn(SERVICE, "gateway")),
    ),
)

products = data_service("products", physical_names["products"], ports["products"])
inventory = data_service("inventory", physical_names["inventory"], ports["inventory"])

# The gateway calls both data services, so it starts only once both run and its paths to them are open
# (ServiceArgs.calls, wait_for); the inventory service calls nobody (it checks product ids in the shared
# database).
gateway = Service(
    "gateway",
    ServiceArgs(
        platform=platform,
        package="gateway",
        physical_name=physical_names["gateway"],
        port=ports["gateway"],
        security_group=groups["gateway"],
        environment={
            "PRODUCT_SERVICE_URL": products.endpoint,
            "INVENTORY_SERVICE_URL": inventory.endpoint,
            # Only the load balancer's X-Forwarded-For is believed; it lives inside the VPC.
            "TRUSTED_PROXIES": cfg.vpc_cidr,
            "ALLOW_OPEN": "false",
            "CURRENCY": cfg.currency,
        },
        secrets={"API_TOKENS": tokens.gateway_secret_arn},
        secret_arns=[tokens.gateway_secret_arn],
        calls=[products, inventory],
        wait_for=gateway_calls,
        load_balancer=LoadBalancerAttachment(
            target_group_arn=network.target_group_arn,
            target_group_arn_suffix=network.target_group_arn_suffix,
            alb_arn_suffix=network.alb_arn_suffix,
            listeners=network.listeners,
        ),
    ),
)


monitoring = StockwizMonitoring(
    "monitoring",
    MonitoringArgs(
        stack=stack,
        region=cfg.region,
        alert_emails=cfg.alert_emails,
        cluster_name=cluster.name,
        services=[
            MonitoredService(label, service.service_name, cfg.min_count)
            for label, service in (("gateway", gateway), ("products", products), ("inventory", inventory))
        ],
        alb_arn_suffix=network.alb_arn_suffix,
        target_group_arn_suffix=network.target_group_arn_suffix,
        db_identifier=database.identifier,
        lambda_function_name=lowstock_function_name,
    ),
)

# --- low-stock Lambda (components/lowstock_lambda.py) ---
lowstock = StockwizLambda(
    "lowstock",
    LambdaArgs(
        stack=stack,
        api_url=network.url,
        api_token_secret_arn=tokens.token_secret_arns["read"],
        alert_topic_arn=monitoring.topic_arn,
        schedule_expression=cfg.low_stock_schedule,
        log_retention_days=cfg.log_retention_days,
        # In the private subnets, out through NAT: the ALB admits the NAT addresses when ingress is narrowed.
        subnet_ids=network.private_subnet_ids,
        security_group_id=network.lambda_security_group_id,
        # The schedule's first run finds the API answering: the gateway (which waits for both data
        # services) and the load balancer in front of it exist first.
        schedule_after=[gateway, *network.url_resources],
        otel_layer_arn=cfg.lambda_otel_layer_arn,
    ),
)
pulumi.export("lowStockDeadLetterQueueUrl", lowstock.dead_letter_queue_url)

pulumi.export("url", network.url)
pulumi.export("albDnsName", network.alb_dns_name)
# The deploy workflow lets its runner into dev's closed load balancer for the smoke test, and out again.
pulumi.export("albSecurityGroupId", network.alb_security_group_id)
pulumi.export(
    "ecrRepositoryUrls",
    {
        "gateway": gateway.repository_url,
        "products": products.repository_url,
        "inventory": inventory.repository_url,
    },
)
pulumi.export("clusterName", cluster.name)
pulumi.export(
    "serviceNames",
    {"gateway": gateway.service_name, "products": products.service_name, "inventory": inventory.service_name},
)
# What each ECS service must run after a successful `pulumi up`; tools/rollout_check.py compares them with
# the services' PRIMARY deployments, which a circuit-breaker rollback leaves on the previous revision.
pulumi.export(
    "taskDefinitionArns",
    {
        "gateway": gateway.task_definition_arn,
        "products": products.task_definition_arn,
        "inventory": inventory.task_definition_arn,
    },
)
pulumi.export("dashboardName", monitoring.dashboard_name)
pulumi.export("alertTopicArn", monitoring.topic_arn)
pulumi.export("databaseEndpoint", database.endpoint)
# Where to read the tokens (aws secretsmanager get-secret-value --secret-id ...), never the tokens.
pulumi.export("apiTokenSecretNames", tokens.token_secret_names)
pulumi.export("lowStockFunctionName", lowstock_function_name)
# What users of the stack must know about its exposure (plain HTTP in dev); also shown by `pulumi up`.
for warning in cfg.warnings:
    pulumi.log.warn(warning)
pulumi.export("warnings", list(cfg.warnings))
