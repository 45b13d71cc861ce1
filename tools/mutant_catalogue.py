"""The mutation test's catalogue: realistic mistakes in the program and the stack files, and harmless changes.

Written from the program (__main__.py, components/*.py, Pulumi.<stack>.yaml) and the pack (policy/): each
mutant is one mistake a person could plausibly make, and names the rule that must catch it. Edits anchor on
text that says what the code means (a property and its value), so that refactoring elsewhere leaves them
applicable; when an anchor disappears, `make mutants` reports the mutant as broken and fails, so the
catalogue is updated with the program instead of silently shrinking. Mutants that add resources append
them to __main__.py, as a person wiring something new would.
"""

from __future__ import annotations

from tools.mutants import Edit, Mutant

PROD = ("prod",)
DEV = ("dev",)
MAIN_END = 'pulumi.export("lowStockFunctionName", lowstock_function_name)'


def append_main(code: str) -> Edit:
    """Add `code` at the end of __main__.py (where a person adds a resource to the stack)."""
    return Edit("__main__.py", MAIN_END, MAIN_END + "\n\nimport json\nimport pulumi_aws as aws\n\n" + code)


def replace(path: str, old: str, new: str, count: int = 1) -> Edit:
    return Edit(path, old, new, count)


SERVICE = "components/service.py"
SERVICE_IMAGE = "components/service_image.py"
TASK_DEFINITION = "components/task_definition.py"
SECURITY = "components/security.py"
NETWORK = "components/network.py"
DATABASE = "components/database.py"
LOWSTOCK = "components/lowstock_lambda.py"
MONITORING = "components/monitoring.py"
MAIN = "__main__.py"

PUBLIC_STATEMENT = (
    '{{"Effect": "Allow", "Principal": {principal}, "Action": "{action}", "Resource": {resource}}}'
)


def public_policy(principal: str, action: str, resource: str = '"*"') -> str:
    return (
        'json.dumps({"Version": "2012-10-17", "Statement": ['
        + PUBLIC_STATEMENT.format(principal=principal, action=action, resource=resource)
        + "]})"
    )


MUTANTS: list[Mutant] = [
    # --- ECS task definitions and the settings that reach AWS -------------------------------------------
    Mutant(
        "gateway-auth-off",
        "the gateway is started with ALLOW_OPEN=true (no API token needed)",
        "ecs-container-no-unsafe-settings",
        "aws:ecs/taskDefinition:TaskDefinition",
        (replace(MAIN, '"ALLOW_OPEN": "false",', '"ALLOW_OPEN": "true",'),),
    ),
    Mutant(
        "chaos-endpoints-on",
        "the data services keep CHAOS_ENABLED=1 from a resilience test",
        "ecs-container-no-unsafe-settings",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                MAIN,
                '"SEED_DEMO_DATA": "false",',
                '"SEED_DEMO_DATA": "false",\n                "CHAOS_ENABLED": "1",',
            ),
        ),
    ),
    Mutant(
        "db-tls-disabled",
        "the data services and their db-setup step connect with DB_SSLMODE=disable",
        "ecs-container-no-unsafe-settings",
        "aws:ecs/taskDefinition:TaskDefinition",
        (replace(MAIN, '"DB_SSLMODE": "verify-full",', '"DB_SSLMODE": "disable",'),),
    ),
    Mutant(
        "db-tls-prefer",
        "DB_SSLMODE=prefer, which silently falls back to plain text",
        "ecs-container-no-unsafe-settings",
        "aws:ecs/taskDefinition:TaskDefinition",
        (replace(MAIN, '"DB_SSLMODE": "verify-full",', '"DB_SSLMODE": "prefer",'),),
    ),
    Mutant(
        "db-sslmode-dropped",
        "DB_SSLMODE is removed (the services then default to disable)",
        "ecs-container-no-unsafe-settings",
        "aws:ecs/taskDefinition:TaskDefinition",
        (replace(MAIN, '    "DB_SSLMODE": "verify-full",\n', ""),),
    ),
    Mutant(
        "database-url-with-password",
        "a DATABASE_URL with the password inline is added to the data services",
        "ecs-container-no-secret-environment",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                MAIN,
                '"SEED_DEMO_DATA": "false",',
                '"SEED_DEMO_DATA": "false",\n                "DATABASE_URL": db.host.apply(lambda h: '
                'f"postgresql://stockwiz_admin:Tr0ub4dor3@{h}:5432/stockwiz?sslmode=require"),',
            ),
        ),
    ),
    Mutant(
        "token-in-harmless-name",
        "the gateway gets UPSTREAM_AUTH with a literal random token",
        "ecs-container-no-secret-environment",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                MAIN,
                '"ALLOW_OPEN": "false",',
                '"ALLOW_OPEN": "false",\n            "UPSTREAM_AUTH": "3f9aK2mQ7xLp0ZbR8vWc1NtY6sHd4Ge5",',
            ),
        ),
    ),
    Mutant(
        "api-tokens-as-env",
        "API_TOKENS is passed as plain environment instead of a secret",
        "ecs-container-no-secret-environment",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(MAIN, 'secrets={"API_TOKENS": tokens.gateway_secret_arn},', "secrets={},"),
            replace(
                MAIN,
                '"ALLOW_OPEN": "false",',
                '"ALLOW_OPEN": "false",\n            "API_TOKENS": tokens.gateway_secret_arn,',
            ),
        ),
    ),
    Mutant(
        "aws-key-in-env",
        "an AWS access key id is pasted into the gateway's environment",
        "ecs-container-no-secret-environment",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                MAIN,
                '"ALLOW_OPEN": "false",',
                '"ALLOW_OPEN": "false",\n            "S3_EXPORT_ID": "AKIAIOSFODNN7EXAMPLE",',
            ),
        ),
    ),
    Mutant(
        "db-pass-in-env",
        "the database password is pasted in as DB_PASS",
        "ecs-container-no-secret-environment",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                MAIN,
                '"SEED_DEMO_DATA": "false",',
                '"SEED_DEMO_DATA": "false",\n                "DB_PASS": "Summer2024!",',
            ),
        ),
    ),
    Mutant(
        "human-password-harmless-name",
        "a human-chosen password is passed as DB_LOGIN=stockwiz:Summer2024!",
        "ecs-container-no-secret-environment",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                MAIN,
                '"SEED_DEMO_DATA": "false",',
                '"SEED_DEMO_DATA": "false",\n                "DB_LOGIN": "stockwiz:Summer2024!",',
            ),
        ),
        gap="neither the name nor a short, human-chosen value looks secret; only review (or secret "
        "scanning of "
        "the repository) catches it. Random tokens, URLs with passwords and known key formats are caught.",
    ),
    Mutant(
        "container-root",
        "the containers run as root (user 0)",
        "ecs-container-non-root",
        "aws:ecs/taskDefinition:TaskDefinition",
        (replace(TASK_DEFINITION, '"user": f"{APP_UID}:{APP_UID}",', '"user": "0",'),),
    ),
    Mutant(
        "container-writable-root",
        "readonlyRootFilesystem is switched off",
        "ecs-container-read-only-root",
        "aws:ecs/taskDefinition:TaskDefinition",
        (replace(TASK_DEFINITION, '"readonlyRootFilesystem": True,', '"readonlyRootFilesystem": False,'),),
    ),
    Mutant(
        "container-privileged",
        "the containers are made privileged",
        "ecs-container-not-privileged",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                TASK_DEFINITION, '"essential": True,', '"essential": True,\n            "privileged": True,'
            ),
        ),
    ),
    Mutant(
        "db-setup-writable-root",
        "the db-setup container gets a writable root filesystem (for the migration tool's files)",
        "ecs-container-read-only-root",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                TASK_DEFINITION,
                "**locked_down(setup.name),",
                '**locked_down(setup.name),\n                "readonlyRootFilesystem": False,',
            ),
        ),
    ),
    Mutant(
        "db-setup-as-root",
        "the db-setup container runs as root (user 0) to create its roles",
        "ecs-container-non-root",
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                TASK_DEFINITION,
                "**locked_down(setup.name),",
                '**locked_down(setup.name),\n                "user": "0",',
            ),
        ),
    ),
    Mutant(
        "container-no-log-driver",
        "the log driver is dropped from logConfiguration",
        "ecs-container-logging",
        "aws:ecs/taskDefinition:TaskDefinition",
        (replace(TASK_DEFINITION, '"logDriver": "awslogs",\n', ""),),
    ),
    Mutant(
        "image-by-tag",
        "the task runs the image by its tag instead of its digest",
        "ecs-container-image-digest",
        "docker:index/image:Image",
        (replace(SERVICE_IMAGE, "return image.repo_digest", "return image.image_name"),),
    ),
    # --- ECS services and cluster --------------------------------------------------------------------
    Mutant(
        "service-public-ip",
        "the services give their tasks public IP addresses",
        "ecs-service-no-public-ip",
        "aws:ecs/service:Service",
        (replace(SERVICE, "assign_public_ip=False,", "assign_public_ip=True,"),),
    ),
    Mutant(
        "service-no-rollback",
        "the circuit breaker no longer rolls back",
        "ecs-service-circuit-breaker",
        "aws:ecs/service:Service",
        (replace(SERVICE, "enable=True, rollback=True", "enable=True, rollback=False"),),
    ),
    Mutant(
        "services-in-public-subnets",
        "the platform hands the services the public subnets",
        "workloads-in-private-subnets",
        "aws:ecs/service:Service",
        (
            replace(
                MAIN,
                "    subnet_ids=network.private_subnet_ids,\n    namespace_arn=",
                "    subnet_ids=network.public_subnet_ids,\n    namespace_arn=",
            ),
        ),
    ),
    Mutant(
        "cluster-no-insights",
        "Container Insights is switched off on the cluster",
        "ecs-cluster-container-insights",
        "aws:ecs/cluster:Cluster",
        (
            replace(
                "components/cluster.py",
                'name="containerInsights", value="enabled"',
                'name="containerInsights", value="disabled"',
            ),
        ),
    ),
    # --- ECR -----------------------------------------------------------------------------------------
    Mutant(
        "ecr-mutable",
        "ECR tags become mutable",
        "ecr-immutable-tags",
        "aws:ecr/repository:Repository",
        (replace(SERVICE_IMAGE, 'image_tag_mutability="IMMUTABLE",', 'image_tag_mutability="MUTABLE",'),),
    ),
    Mutant(
        "ecr-no-scan",
        "scan on push is switched off",
        "ecr-scan-on-push",
        "aws:ecr/repository:Repository",
        (replace(SERVICE_IMAGE, "scan_on_push=True", "scan_on_push=False"),),
    ),
    Mutant(
        "ecr-no-lifecycle",
        "the repositories' lifecycle policy is dropped",
        "ecr-lifecycle-policy",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        (replace(SERVICE_IMAGE, "aws.ecr.LifecyclePolicy(", "(lambda *_, **__: None)("),),
    ),
    Mutant(
        "ecr-public-policy",
        "a repository policy lets anyone pull the gateway image",
        "resource-policy-no-public-principal",
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        (
            append_main(
                'aws.ecr.RepositoryPolicy("gateway-pull", repository=f"stockwiz-api-gateway-{stack}", '
                "policy=" + public_policy('"*"', "ecr:BatchGetImage") + ")"
            ),
        ),
    ),
    # --- IAM -----------------------------------------------------------------------------------------
    Mutant(
        "exec-role-secrets-star",
        "the execution role may read every secret (GetSecretValue on *)",
        "iam-no-sensitive-actions-on-all-resources",
        "aws:iam/rolePolicy:RolePolicy",
        (replace(TASK_DEFINITION, '"Resource": list(args.secret_arns),', '"Resource": "*",'),),
    ),
    Mutant(
        "exec-role-star-star",
        "the execution role is granted every action on every resource",
        "iam-no-star-star",
        "aws:iam/rolePolicy:RolePolicy",
        (
            replace(
                TASK_DEFINITION,
                '"Action": "ecr:GetAuthorizationToken", "Resource": "*"',
                '"Action": "*", "Resource": "*"',
            ),
        ),
    ),
    Mutant(
        "exec-role-ecr-admin",
        "the execution role gets ecr:* on every repository",
        "iam-no-admin-policies",
        "aws:iam/rolePolicy:RolePolicy",
        (
            replace(
                TASK_DEFINITION,
                '"Action": "ecr:GetAuthorizationToken", "Resource": "*"',
                '"Action": "ecr:*", "Resource": "*"',
            ),
        ),
    ),
    Mutant(
        "exec-role-wildcard-action",
        "the image pull actions are shortened to ecr:Get*",
        "iam-no-wildcard-actions",
        "aws:iam/rolePolicy:RolePolicy",
        (replace(TASK_DEFINITION, '"ecr:GetDownloadUrlForLayer",', '"ecr:Get*",'),),
    ),
    Mutant(
        "task-role-trusts-everyone",
        "the task roles trust any AWS principal",
        "iam-role-trusted-service",
        "aws:iam/role:Role",
        (
            replace(
                TASK_DEFINITION,
                '"Principal": {"Service": "ecs-tasks.amazonaws.com"},',
                '"Principal": {"AWS": "*"},',
            ),
        ),
    ),
    Mutant(
        "task-role-admin",
        "AdministratorAccess is attached to the gateway's task role",
        "iam-no-admin-policies",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        (
            append_main(
                'aws.iam.RolePolicyAttachment("gateway-admin", role=f"stockwiz-api-gateway-{stack}-task", '
                'policy_arn="arn:aws:iam::aws:policy/AdministratorAccess")'
            ),
        ),
    ),
    Mutant(
        "task-role-db-connect-star",
        "the data services' task role may rds-db:connect on Resource '*' (any user of any database)",
        "iam-no-sensitive-actions-on-all-resources",
        "aws:iam/rolePolicy:RolePolicy",
        (replace(TASK_DEFINITION, '"Resource": args.database_user_arn,', '"Resource": "*",'),),
    ),
    Mutant(
        "task-role-db-connect-any-database",
        "the database user ARN is written as AWS's example, dbuser:*/* (any user of any database)",
        "iam-no-sensitive-actions-on-all-resources",
        "aws:iam/rolePolicy:RolePolicy",
        (
            replace(
                DATABASE,
                'return f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/{user}"',
                'return f"arn:{partition}:rds-db:{region}:{account}:dbuser:*/*"',
            ),
        ),
    ),
    Mutant(
        "lambda-secrets-star",
        "the low-stock function may read every secret",
        "iam-no-sensitive-actions-on-all-resources",
        "aws:iam/rolePolicy:RolePolicy",
        (
            replace(
                LOWSTOCK,
                '"Action": "secretsmanager:GetSecretValue",\n            "Resource": secret_arn,',
                '"Action": "secretsmanager:GetSecretValue",\n            "Resource": "*",',
            ),
        ),
    ),
    Mutant(
        "lambda-ssm-all-parameters",
        "the low-stock function may read every SSM parameter of the account",
        "iam-no-sensitive-actions-on-all-resources",
        "aws:iam/rolePolicy:RolePolicy",
        (replace(LOWSTOCK, '"Resource": parameter_arns,', '"Resource": "arn:aws:ssm:*:*:parameter/*",'),),
    ),
    Mutant(
        "lambda-ssm-wildcard",
        "ssm:GetParameter becomes ssm:GetParameter*",
        "iam-no-wildcard-actions",
        "aws:iam/rolePolicy:RolePolicy",
        (
            replace(
                LOWSTOCK,
                '"Action": ["ssm:GetParameter", "ssm:PutParameter"],',
                '"Action": ["ssm:GetParameter*", "ssm:PutParameter"],',
            ),
        ),
    ),
    Mutant(
        "lambda-kms-decrypt-star",
        "kms:Decrypt on every key is added to the function's role",
        "iam-no-sensitive-actions-on-all-resources",
        "aws:iam/rolePolicy:RolePolicy",
        (
            replace(
                LOWSTOCK,
                '"Sid": "ReadWriteOwnState",',
                '"Sid": "ReadWriteOwnState",\n            "Effect": "Allow",\n            "Action": "kms:'
                'Decrypt",\n'
                '            "Resource": "*",\n        },\n        {\n            "Sid": '
                '"ReadWriteOwnStateToo",',
            ),
        ),
    ),
    Mutant(
        "scheduler-pass-role-star",
        "the scheduler role may pass any role",
        "iam-no-sensitive-actions-on-all-resources",
        "aws:iam/rolePolicy:RolePolicy",
        (
            replace(
                LOWSTOCK,
                '"Sid": "SendUndeliveredRuns",',
                '"Sid": "PassAnyRole",\n                    "Effect": "Allow",\n                    '
                '"Action": "iam:PassRole",\n'
                '                    "Resource": "*",\n                },\n                {\n'
                '                    "Sid": "SendUndeliveredRuns",',
            ),
        ),
    ),
    Mutant(
        "lambda-role-two-services",
        "the function's role is also trusted by ECS tasks",
        "iam-role-trusted-service",
        "aws:iam/role:Role",
        (
            replace(
                LOWSTOCK,
                '"Principal": {"Service": "lambda.amazonaws.com"},',
                '"Principal": {"Service": ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com"]},',
            ),
        ),
    ),
    # --- Lambda --------------------------------------------------------------------------------------
    Mutant(
        "lambda-old-runtime",
        "the function is pinned to python3.9",
        "lambda-supported-runtime",
        "aws:lambda/function:Function",
        (replace(LOWSTOCK, 'RUNTIME = "python3.13"', 'RUNTIME = "python3.9"'),),
    ),
    Mutant(
        "lambda-token-name",
        "the token's secret ARN is passed as API_TOKEN",
        "lambda-no-secret-environment",
        "aws:lambda/function:Function",
        (
            replace(
                LOWSTOCK,
                '"API_TOKEN_SECRET_ARN": args.api_token_secret_arn,',
                '"API_TOKEN_SECRET_ARN": args.api_token_secret_arn,\n                    "API_TOKEN": '
                '"Zx81kQp02LmN7vBc4RtY9sWe3HjU6aDf",',
            ),
        ),
    ),
    Mutant(
        "lambda-token-value",
        "a literal token under a harmless name in the function's environment",
        "lambda-no-secret-environment",
        "aws:lambda/function:Function",
        (
            replace(
                LOWSTOCK,
                '"LOG_LEVEL": "INFO",',
                '"LOG_LEVEL": "INFO",\n                    "STOCKWIZ_AUTH": '
                '"Zx81kQp02LmN7vBc4RtY9sWe3HjU6aDf",',
            ),
        ),
    ),
    Mutant(
        "lambda-in-public-subnets",
        "the low-stock function is placed in the public subnets",
        "workloads-in-private-subnets",
        "aws:lambda/function:Function",
        (
            replace(
                MAIN,
                "        subnet_ids=network.private_subnet_ids,\n        security_group_id=",
                "        subnet_ids=network.public_subnet_ids,\n        security_group_id=",
            ),
        ),
    ),
    Mutant(
        "lambda-no-failure-destination",
        "the on-failure destination (FunctionEventInvokeConfig) is dropped",
        "lambda-failure-destination",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        (replace(LOWSTOCK, "aws.lambda_.FunctionEventInvokeConfig(", "(lambda *_, **__: None)("),),
    ),
    Mutant(
        "lambda-public-permission",
        "anyone may invoke the low-stock function",
        "lambda-no-public-access",
        "aws:lambda/permission:Permission",
        (
            append_main(
                'aws.lambda_.Permission("lowstock-anyone", action="lambda:InvokeFunction", function='
                'lowstock.function_name, principal="*")'
            ),
        ),
    ),
    Mutant(
        "lambda-public-url",
        "a function URL without authentication is added",
        "lambda-no-public-access",
        "aws:lambda/functionUrl:FunctionUrl",
        (
            append_main(
                'aws.lambda_.FunctionUrl("lowstock-url", function_name=lowstock.function_name, '
                'authorization_type="NONE")'
            ),
        ),
    ),
    Mutant(
        "dlq-unencrypted",
        "the dead-letter queue's encryption is switched off",
        "sqs-queue-encrypted",
        "aws:sqs/queue:Queue",
        (replace(LOWSTOCK, "sqs_managed_sse_enabled=True,", "sqs_managed_sse_enabled=False,"),),
    ),
    Mutant(
        "dlq-public-policy",
        "a queue policy lets anyone send to the dead-letter queue",
        "resource-policy-no-public-principal",
        "aws:sqs/queuePolicy:QueuePolicy",
        (
            append_main(
                'aws.sqs.QueuePolicy("dlq-policy", queue_url=lowstock.dead_letter_queue_url, policy=lowstock.'
                "dead_letter_queue_arn.apply(lambda arn: "
                + public_policy('{"AWS": "*"}', "sqs:SendMessage", "arn")
                + "))"
            ),
        ),
    ),
    # --- load balancer and network -------------------------------------------------------------------
    Mutant(
        "alb-keeps-invalid-headers",
        "the load balancer stops dropping invalid headers",
        "lb-drop-invalid-headers",
        "aws:lb/loadBalancer:LoadBalancer",
        (replace(NETWORK, "drop_invalid_header_fields=True,", "drop_invalid_header_fields=False,"),),
    ),
    Mutant(
        "https-old-tls",
        "the HTTPS listener uses the 2016 TLS policy",
        "lb-https-modern-tls",
        "aws:lb/listener:Listener",
        (
            replace(
                NETWORK,
                'TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"',
                'TLS_POLICY = "ELBSecurityPolicy-2016-08"',
            ),
        ),
        stacks=PROD,
    ),
    Mutant(
        "http-forwards-beside-https",
        "the HTTP listener forwards instead of redirecting to HTTPS",
        "lb-http-redirects-to-https",
        "aws:lb/listener:Listener",
        (replace(NETWORK, "default_actions=http_actions,", "default_actions=forward,"),),
        stacks=PROD,
    ),
    Mutant(
        "https-listener-as-http",
        "the 443 listener is declared with protocol HTTP",
        "lb-https-required",
        "aws:lb/listener:Listener",
        (
            replace(
                NETWORK, 'protocol="HTTPS",\n                    ssl_policy=TLS_POLICY,', 'protocol="HTTP",'
            ),
        ),
        stacks=PROD,
    ),
    Mutant(
        "metrics-forwarded",
        "the load balancer's fixed 404 rule matches another path, so /metrics is forwarded to the gateway",
        "lb-internal-paths-not-public",
        "aws:lb/listenerRule:ListenerRule",
        (
            replace(
                NETWORK,
                'INTERNAL_PATHS = ("/metrics", "/metrics/*")',
                'INTERNAL_PATHS = ("/internal/metrics",)',
            ),
        ),
    ),
    Mutant(
        "xray-reads-traces",
        "the tracing collectors' X-Ray permission becomes xray:* (trace reads and configuration changes too)",
        "iam-xray-write-only",
        "aws:iam/rolePolicy:RolePolicy",
        (
            replace(
                "components/tracing.py",
                'XRAY_WRITE_ACTIONS = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")',
                'XRAY_WRITE_ACTIONS = ("xray:*",)',
            ),
        ),
    ),
    Mutant(
        "alb-ssh-open",
        "SSH is opened to the world on the load balancer's security group",
        "security-group-no-public-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (
            append_main(
                'aws.vpc.SecurityGroupIngressRule("alb-ssh", security_group_id=network.alb_security_group_'
                "id, "
                'ip_protocol="tcp", from_port=22, to_port=22, cidr_ipv4="0.0.0.0/0")'
            ),
        ),
    ),
    Mutant(
        "gateway-open-to-world",
        "the gateway's port is opened to the internet, bypassing the load balancer",
        "security-group-no-public-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (
            append_main(
                'aws.vpc.SecurityGroupIngressRule("gateway-direct", security_group_id=gateway.security_'
                "group_id, "
                'ip_protocol="tcp", from_port=8000, to_port=8000, cidr_ipv4="0.0.0.0/0")'
            ),
        ),
    ),
    Mutant(
        "lambda-sg-https-from-world",
        "the Lambda's security group admits HTTPS from anywhere",
        "security-group-public-only-on-load-balancer",
        "aws:ec2/securityGroup:SecurityGroup",
        (
            append_main(
                'aws.vpc.SecurityGroupIngressRule("lambda-in", security_group_id=network.lambda_security_'
                "group_id, "
                'ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0")'
            ),
        ),
    ),
    Mutant(
        "service-all-protocols",
        "service-to-service rules admit every protocol and port",
        "security-group-no-all-ports-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (
            replace(
                SECURITY,
                'ip_protocol="tcp",\n            from_port=args.port,\n            to_port=args.port,\n'
                "            referenced_security_group_id=args.source_group_id,",
                'ip_protocol="-1",\n            referenced_security_group_id=args.source_group_id,',
            ),
        ),
    ),
    Mutant(
        "service-ingress-private-range",
        "services admit their callers by 10.0.0.0/8 instead of their security groups",
        "security-group-ingress-by-group",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (
            replace(
                SECURITY,
                "            referenced_security_group_id=args.source_group_id,\n            opts=pulumi."
                "ResourceOptions(parent=self, aliases=args.ingress.aliases()),",
                '            cidr_ipv4="10.0.0.0/8",\n            opts=pulumi.ResourceOptions(parent=self, '
                "aliases=args.ingress.aliases()),",
            ),
        ),
    ),
    Mutant(
        "split-world-ipv6",
        "a debugging rule admits ::/1 and 8000::/1 to the gateway",
        "security-group-no-split-world",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (
            append_main(
                'for half in ("::/1", "8000::/1"):\n    aws.vpc.SecurityGroupIngressRule(f"gateway-debug-'
                '{half[0]}", '
                'security_group_id=gateway.security_group_id, ip_protocol="tcp", from_port=8000, to_port='
                "8000, "
                "cidr_ipv6=half)"
            ),
        ),
    ),
    Mutant(
        "split-world-ipv4-db",
        "the database admits 0.0.0.0/1 and 128.0.0.0/1 on 5432",
        "security-group-no-split-world",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (
            append_main(
                'for half in ("0.0.0.0/1", "128.0.0.0/1"):\n    aws.vpc.SecurityGroupIngressRule(f"db-'
                'debug-{half[0]}", '
                'security_group_id=db.security_group_id, ip_protocol="tcp", from_port=5432, to_port=5432, '
                "cidr_ipv4=half)"
            ),
        ),
    ),
    Mutant(
        "network-private-ids-are-public",
        "StockwizNetwork hands out the public subnets as private_subnet_ids",
        "workloads-in-private-subnets",
        "aws:ec2/subnet:Subnet",
        (
            replace(
                NETWORK,
                "self.private_subnet_ids = vpc.private_subnet_ids.apply(list)",
                "self.private_subnet_ids = vpc.public_subnet_ids.apply(list)",
            ),
        ),
    ),
    Mutant(
        "network-single-nat-in-code",
        "the network component hard-codes one NAT gateway (and one EIP) whatever the stack says",
        "vpc-nat-per-zone",
        "aws:ec2/natGateway:NatGateway",
        (
            replace(
                NETWORK,
                "strategy=awsx.ec2.NatGatewayStrategy(args.nat_gateway_strategy),",
                "strategy=awsx.ec2.NatGatewayStrategy.SINGLE,",
            ),
            replace(
                NETWORK,
                'nat_count = 1 if args.nat_gateway_strategy == "Single" else args.availability_zone_count',
                "nat_count = 1",
            ),
        ),
        stacks=PROD,
    ),
    Mutant(
        "service-egress-anywhere",
        "the services' egress is widened to every protocol and port to the internet",
        "security-group-no-all-ports-ingress",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        (
            replace(
                SECURITY,
                'description="HTTPS to AWS APIs via NAT",\n            ip_protocol="tcp",',
                'description="HTTPS to AWS APIs via NAT",\n            ip_protocol="-1",',
            ),
        ),
        gap="egress is not guarded: the pack judges what can reach StockWiz, not where it sends data. The "
        "services' egress is narrow by construction (components/security.py) and changes to it are reviewed.",
    ),
    # --- database ------------------------------------------------------------------------------------
    Mutant(
        "db-unencrypted",
        "database storage encryption is switched off",
        "rds-storage-encrypted",
        "aws:rds/instance:Instance",
        (replace(DATABASE, "storage_encrypted=True,", "storage_encrypted=False,"),),
    ),
    Mutant(
        "db-public",
        "the database is made publicly accessible",
        "rds-not-public",
        "aws:rds/instance:Instance",
        (replace(DATABASE, "publicly_accessible=False,", "publicly_accessible=True,"),),
    ),
    Mutant(
        "db-force-ssl-off",
        "the parameter group sets rds.force_ssl to 0",
        "rds-tls-required",
        "aws:rds/parameterGroup:ParameterGroup",
        (replace(DATABASE, 'name="rds.force_ssl", value="1"', 'name="rds.force_ssl", value="0"'),),
    ),
    Mutant(
        "db-force-ssl-dropped-on-pg14",
        "rds.force_ssl is dropped while the engine is PostgreSQL 14 (whose default is off)",
        "rds-tls-required",
        "aws:rds/parameterGroup:ParameterGroup",
        (replace(DATABASE, 'aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1"),\n', ""),),
        config={"stockwiz:dbEngineVersion": "14"},
    ),
    Mutant(
        "db-unmanaged-parameter-group",
        "the database points at a parameter group the stack does not manage",
        "rds-tls-required",
        "aws:rds/instance:Instance",
        (
            replace(
                DATABASE,
                "parameter_group_name=parameters.name,",
                'parameter_group_name="stockwiz-custom-pg16",',
            ),
        ),
    ),
    Mutant(
        "db-one-day-backups",
        "backup retention is hard-coded to one day",
        "rds-backup-retention",
        "aws:rds/instance:Instance",
        (
            replace(
                DATABASE, "backup_retention_period=args.backup_retention_days,", "backup_retention_period=1,"
            ),
        ),
    ),
    Mutant(
        "db-deletable",
        "deletion protection is hard-coded off",
        "rds-deletion-protection",
        "aws:rds/instance:Instance",
        (
            replace(
                DATABASE,
                "            deletion_protection=args.deletion_protection,\n            skip_final_snapshot",
                "            deletion_protection=False,\n            skip_final_snapshot",
            ),
        ),
        stacks=PROD,
    ),
    Mutant(
        "db-skip-final-snapshot",
        "the final snapshot is always skipped",
        "rds-final-snapshot",
        "aws:rds/instance:Instance",
        (replace(DATABASE, "skip_final_snapshot=not args.final_snapshot,", "skip_final_snapshot=True,"),),
        stacks=PROD,
    ),
    Mutant(
        "db-single-az",
        "multi-AZ is hard-coded off",
        "rds-multi-az",
        "aws:rds/instance:Instance",
        (replace(DATABASE, "multi_az=args.multi_az,", "multi_az=False,"),),
        stacks=PROD,
    ),
    Mutant(
        "db-in-public-subnets",
        "the database subnet group gets the public subnets",
        "workloads-in-private-subnets",
        "aws:rds/subnetGroup:SubnetGroup",
        (
            replace(
                MAIN,
                "        subnet_ids=network.private_subnet_ids,\n        instance_class=",
                "        subnet_ids=network.public_subnet_ids,\n        instance_class=",
            ),
        ),
    ),
    Mutant(
        "db-ingress-vpc-range",
        "the database admits the whole 10.0.0.0/8 instead of the services' security groups",
        "security-group-ingress-by-group",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (
            append_main(
                'aws.vpc.SecurityGroupIngressRule("database-in-range", '
                'security_group_id=db.security_group_id, description="PostgreSQL", ip_protocol="tcp", '
                "from_port=5432, to_port=5432, "
                'cidr_ipv4="10.0.0.0/8")'
            ),
        ),
    ),
    Mutant(
        "db-open-to-world",
        "the database admits PostgreSQL from anywhere",
        "security-group-no-public-ingress",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        (
            append_main(
                'aws.vpc.SecurityGroupIngressRule("database-in-world", '
                'security_group_id=db.security_group_id, description="PostgreSQL", ip_protocol="tcp", '
                "from_port=5432, to_port=5432, "
                'cidr_ipv4="0.0.0.0/0")'
            ),
        ),
    ),
    # --- secrets -------------------------------------------------------------------------------------
    Mutant(
        "tokens-no-recovery",
        "API token secrets are deleted without a recovery window on every stack",
        "secrets-recovery-window",
        "aws:secretsmanager/secret:Secret",
        (
            replace(
                MAIN, "recovery_window_days=30 if cfg.deletion_protection else 0", "recovery_window_days=0"
            ),
        ),
        stacks=PROD,
    ),
    Mutant(
        "secret-public-policy",
        "a resource policy lets anyone read the gateway's token hashes",
        "resource-policy-no-public-principal",
        "aws:secretsmanager/secretPolicy:SecretPolicy",
        (
            append_main(
                'aws.secretsmanager.SecretPolicy("tokens-policy", secret_arn=tokens.gateway_secret_arn, '
                "policy=" + public_policy('"*"', "secretsmanager:GetSecretValue") + ")"
            ),
        ),
    ),
    # --- S3 (the program has no bucket yet; these are the mistakes of adding one) ----------------------
    Mutant(
        "s3-bucket-unguarded",
        "an exports bucket is added without a public access block",
        "s3-bucket-no-public-access",
        "aws:s3/bucket:Bucket",
        (append_main('aws.s3.Bucket("exports", bucket=f"stockwiz-exports-{stack}")'),),
    ),
    Mutant(
        "s3-bucket-public-read",
        "an exports bucket is added with the public-read ACL",
        "s3-bucket-no-public-access",
        "aws:s3/bucketAcl:BucketAcl",
        (
            append_main(
                'bucket = aws.s3.Bucket("exports", bucket=f"stockwiz-exports-{stack}")\n'
                'aws.s3.BucketPublicAccessBlock("exports-block", bucket=bucket.id, block_public_acls=True, '
                "block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)\n"
                'aws.s3.BucketAcl("exports-acl", bucket=bucket.id, acl="public-read")'
            ),
        ),
    ),
    Mutant(
        "s3-block-off",
        "the bucket's public access block leaves public policies allowed",
        "s3-bucket-no-public-access",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        (
            append_main(
                'bucket = aws.s3.Bucket("exports", bucket=f"stockwiz-exports-{stack}")\n'
                'aws.s3.BucketPublicAccessBlock("exports-block", bucket=bucket.id, block_public_acls=True, '
                "block_public_policy=False, ignore_public_acls=True, restrict_public_buckets=False)"
            ),
        ),
    ),
    Mutant(
        "s3-public-policy",
        "a bucket policy lets anyone read the exports",
        "resource-policy-no-public-principal",
        "aws:s3/bucketPolicy:BucketPolicy",
        (
            append_main(
                'bucket = aws.s3.Bucket("exports", bucket=f"stockwiz-exports-{stack}")\n'
                'aws.s3.BucketPublicAccessBlock("exports-block", bucket=bucket.id, block_public_acls=True, '
                "block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)\n"
                'aws.s3.BucketPolicy("exports-policy", bucket=bucket.id, policy=bucket.arn.apply(lambda arn: '
                + public_policy('"*"', "s3:GetObject", 'arn + "/*"')
                + "))"
            ),
        ),
    ),
    # --- monitoring ----------------------------------------------------------------------------------
    Mutant(
        "alarms-without-actions",
        "the monitoring alarms are created without alarm actions",
        "cloudwatch-alarm-actions",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        (replace(MONITORING, "            alarm_actions=[topic_arn],\n", "            alarm_actions=[],\n"),),
    ),
    Mutant(
        "alarms-disabled",
        "the monitoring alarms' actions are disabled",
        "cloudwatch-alarm-actions",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        (
            replace(
                MONITORING,
                "            alarm_actions=[topic_arn],\n",
                "            alarm_actions=[topic_arn],\n            actions_enabled=False,\n",
            ),
        ),
    ),
    Mutant(
        "dlq-alarm-silent",
        "the dead-letter alarm notifies nobody",
        "cloudwatch-alarm-actions",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        (
            replace(
                LOWSTOCK,
                "            alarm_actions=[args.alert_topic_arn],\n            ok_actions=[args.alert_"
                "topic_arn],\n",
                "",
            ),
        ),
    ),
    Mutant(
        "services-unwatched",
        "the per-service alarms are dropped",
        "alarms-cover-services",
        "aws:ecs/service:Service",
        (replace(MONITORING, "for service in args.services:", "for service in []:"),),
    ),
    Mutant(
        "topic-no-subscribers",
        "the alert e-mail subscriptions are never created",
        "alarms-reach-someone",
        "aws:sns/topicSubscription:TopicSubscription",
        (replace(MONITORING, "enumerate(args.alert_emails)", "enumerate([])"),),
        stacks=PROD,
    ),
    Mutant(
        "topic-public-policy",
        "a topic policy lets any account publish to the alert topic",
        "resource-policy-no-public-principal",
        "aws:sns/topicPolicy:TopicPolicy",
        (
            append_main(
                'aws.sns.TopicPolicy("alerts-policy", arn=monitoring.topic_arn, policy=monitoring.topic_'
                "arn.apply("
                "lambda arn: " + public_policy('{"AWS": ["*"]}', "sns:Publish", "arn") + "))"
            ),
        ),
    ),
    Mutant(
        "log-retention-forever",
        "the services' log groups lose their retention",
        "cloudwatch-log-retention",
        "aws:cloudwatch/logGroup:LogGroup",
        (replace(TASK_DEFINITION, "            retention_in_days=args.log_retention_days,\n", ""),),
    ),
    Mutant(
        "lambda-log-retention-forever",
        "the function's log group loses its retention",
        "cloudwatch-log-retention",
        "aws:cloudwatch/logGroup:LogGroup",
        (replace(LOWSTOCK, "            retention_in_days=args.log_retention_days,\n", ""),),
    ),
    Mutant(
        "db-log-groups-forever",
        "the log groups made for RDS's exports (postgresql, upgrade) lose their retention",
        "cloudwatch-log-retention",
        "aws:cloudwatch/logGroup:LogGroup",
        (replace(DATABASE, "                retention_in_days=args.log_retention_days,\n", ""),),
    ),
    Mutant(
        "untagged-stack",
        "the provider's default tags lose ManagedBy while the program's own check is bypassed",
        "required-tags",
        "config",
        (
            replace(
                "components/config.py",
                'REQUIRED_TAGS: Final = ("Project", "Environment", "ManagedBy")',
                'REQUIRED_TAGS: Final = ("Project", "Environment")',
            ),
        ),
        config={"aws:defaultTags": {"tags": {"Project": "stockwiz", "Environment": "dev"}}},
        stacks=DEV,
    ),
    # --- mistakes in Pulumi.prod.yaml ----------------------------------------------------------------
    Mutant(
        "prod-plain-http",
        "prod loses its certificate (certificateArn, domainName and hostedZoneId emptied)",
        "lb-https-required",
        "config",
        config={"stockwiz:certificateArn": "", "stockwiz:domainName": "", "stockwiz:hostedZoneId": ""},
        stacks=PROD,
    ),
    Mutant(
        "prod-single-nat",
        "prod uses natGatewayStrategy: Single",
        "vpc-nat-per-zone",
        "config",
        config={"stockwiz:natGatewayStrategy": "Single"},
        stacks=PROD,
    ),
    Mutant(
        "prod-single-az-db",
        "prod sets dbMultiAz: false",
        "rds-multi-az",
        "config",
        config={"stockwiz:dbMultiAz": False},
        stacks=PROD,
    ),
    Mutant(
        "prod-no-final-snapshot",
        "prod sets finalSnapshot: false",
        "rds-final-snapshot",
        "config",
        config={"stockwiz:finalSnapshot": False},
        stacks=PROD,
    ),
    Mutant(
        "prod-unprotected",
        "prod sets deletionProtection: false",
        "rds-deletion-protection",
        "config",
        config={"stockwiz:deletionProtection": False},
        stacks=PROD,
    ),
    Mutant(
        "prod-short-backups",
        "prod keeps backups 7 days",
        "rds-backup-retention",
        "config",
        config={"stockwiz:dbBackupRetentionDays": 7},
        stacks=PROD,
    ),
    Mutant(
        "prod-short-logs",
        "prod keeps logs 30 days",
        "cloudwatch-log-retention",
        "config",
        config={"stockwiz:logRetentionDays": 30},
        stacks=PROD,
    ),
    Mutant(
        "prod-no-alert-emails",
        "prod's alertEmails is emptied",
        "alarms-reach-someone",
        "config",
        config={"stockwiz:alertEmails": []},
        stacks=PROD,
    ),
    Mutant(
        "prod-split-world",
        "prod 'restricts' ingress to 0.0.0.0/1 and 128.0.0.0/1",
        "security-group-no-split-world",
        "config",
        config={"stockwiz:allowedIngressCidrs": ["0.0.0.0/1", "128.0.0.0/1"]},
        stacks=PROD,
    ),
    Mutant(
        "prod-missing-tag",
        "prod's default tags lose ManagedBy",
        "config-error:aws:defaultTags",
        "config",
        config={"aws:defaultTags": {"tags": {"Project": "stockwiz", "Environment": "prod"}}},
        stacks=PROD,
    ),
]

HARMLESS: list[Mutant] = [
    Mutant(
        "idempotency-ttl",
        "the inventory's IDEMPOTENCY_KEY_TTL_HOURS is set to 48",
        None,
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                MAIN,
                '"SEED_DEMO_DATA": "false",',
                '"SEED_DEMO_DATA": "false",\n                "IDEMPOTENCY_KEY_TTL_HOURS": "48",',
            ),
        ),
    ),
    Mutant(
        "plain-settings",
        "ordinary settings are added: APP_VERSION, FEATURE_FLAGS, RATE_LIMIT_PER_MINUTE, a CORS origin",
        None,
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                MAIN,
                '"ALLOW_OPEN": "false",',
                '"ALLOW_OPEN": "false",\n            "APP_VERSION": "1.4.2",\n            "FEATURE_FLAGS": '
                '"search,export",\n'
                '            "RATE_LIMIT_PER_MINUTE": "6000",\n            "CORS_ALLOWED_ORIGINS": "https:/'
                '/shop.example.com",',
            ),
        ),
    ),
    Mutant(
        "debug-logging",
        "LOG_LEVEL becomes DEBUG",
        None,
        "aws:ecs/taskDefinition:TaskDefinition",
        (replace(SERVICE, '"LOG_LEVEL": "INFO",', '"LOG_LEVEL": "DEBUG",'),),
    ),
    Mutant(
        "db-timeouts",
        "the data services get longer database and request deadlines (DB_STATEMENT_TIMEOUT, DB_LOCK_TIMEOUT, "
        "DB_POOL_TIMEOUT, REQUEST_TIMEOUT)",
        None,
        "aws:ecs/taskDefinition:TaskDefinition",
        (
            replace(
                MAIN,
                '"SEED_DEMO_DATA": "false",',
                '"SEED_DEMO_DATA": "false",\n                "DB_STATEMENT_TIMEOUT": "15",'
                ' "DB_LOCK_TIMEOUT": "5",\n                "DB_POOL_TIMEOUT": "10", "REQUEST_TIMEOUT": "20",',
            ),
        ),
    ),
    Mutant(
        "alarm-thresholds",
        "alarm thresholds are tuned",
        None,
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        (replace(MONITORING, "SERVICE_CPU_PERCENT = 85.0", "SERVICE_CPU_PERCENT = 90.0"),),
    ),
    Mutant(
        "lambda-memory",
        "the function gets more memory and a longer lease",
        None,
        "aws:lambda/function:Function",
        (replace(LOWSTOCK, "MEMORY_MB = 256", "MEMORY_MB = 512"),),
    ),
    Mutant(
        "guarded-bucket",
        "a private exports bucket with a full public access block is added",
        None,
        "aws:s3/bucket:Bucket",
        (
            append_main(
                'bucket = aws.s3.Bucket("exports", bucket=f"stockwiz-exports-{stack}")\n'
                'aws.s3.BucketPublicAccessBlock("exports-block", bucket=bucket.id, block_public_acls=True, '
                "block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True)"
            ),
        ),
    ),
    Mutant(
        "prod-bigger-tasks",
        "prod tasks get 1 vCPU and 2 GiB",
        None,
        "config",
        config={"stockwiz:taskCpu": 1024, "stockwiz:taskMemory": 2048},
        stacks=PROD,
    ),
    Mutant(
        "prod-second-email",
        "prod alerts a second address",
        None,
        "config",
        config={"stockwiz:alertEmails": ["ops@stockwiz-ops.net", "oncall@stockwiz-ops.net"]},
        stacks=PROD,
    ),
    Mutant(
        "prod-longer-retention",
        "prod keeps logs two years and backups 35 days",
        None,
        "config",
        config={"stockwiz:logRetentionDays": 731, "stockwiz:dbBackupRetentionDays": 35},
        stacks=PROD,
    ),
    Mutant(
        "prod-two-zones",
        "prod runs in two zones",
        None,
        "config",
        config={"stockwiz:availabilityZoneCount": 2},
        stacks=PROD,
    ),
    Mutant(
        "prod-postgres-17",
        "prod moves to PostgreSQL 17",
        None,
        "config",
        config={"stockwiz:dbEngineVersion": "17"},
        stacks=PROD,
    ),
    Mutant(
        "restricted-ingress",
        "ingress is narrowed to an office range (the NAT addresses are then admitted too)",
        None,
        "config",
        config={"stockwiz:allowedIngressCidrs": ["203.0.113.0/24"]},
    ),
    Mutant(
        "vpn-ingress",
        "the load balancer admits the corporate VPN range 10.0.0.0/8 only",
        None,
        "config",
        config={"stockwiz:allowedIngressCidrs": ["10.0.0.0/8"]},
    ),
    Mutant(
        "dev-nat-per-zone",
        "dev pays for a NAT gateway per zone",
        None,
        "config",
        config={"stockwiz:natGatewayStrategy": "OnePerAz"},
        stacks=DEV,
    ),
    Mutant(
        "prod-faster-schedule",
        "prod checks low stock every 2 minutes",
        None,
        "config",
        config={"stockwiz:lowStockSchedule": "rate(2 minutes)"},
        stacks=PROD,
    ),
]

CATALOGUE: list[Mutant] = MUTANTS + HARMLESS

# Resource types the program creates that no rule guards, and why no mistake in them is security-relevant
# enough for the pack (each is still analyzed by the rules that apply to every resource, e.g. required-tags).
UNGUARDED_TYPES = {
    "aws:cloudwatch/dashboard:Dashboard": "a view of metrics; a wrong widget hides nothing from the alarms",
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": "capacity choice (FARGATE or SPOT) is cost",
    "aws:lb/targetGroup:TargetGroup": "plain HTTP inside the VPC, behind the load balancer, by design",
    "aws:route53/record:Record": "an alias of the load balancer; the name is configuration",
    "aws:scheduler/schedule:Schedule": "when the check runs; its role and target are judged through IAM",
    "aws:secretsmanager/secretVersion:SecretVersion": "the value stays in Secrets Manager",
    "aws:servicediscovery/httpNamespace:HttpNamespace": "internal service names, HTTP only, no DNS zone",
    "aws:ssm/parameter:Parameter": "the low-stock state, not secret; who may read it is judged through IAM",
    "aws:appautoscaling/target:Target": "capacity bounds come from validated configuration",
    "aws:appautoscaling/policy:Policy": "scaling targets are tuning, not exposure",
    "aws:ec2/eip:Eip": "the NAT gateways' addresses; nothing listens on them",
    "random:index/randomPassword:RandomPassword": "tokens stay in Secrets Manager; leaks are env mutants",
    "aws:ec2/vpc:Vpc": "its CIDR is validated configuration; exposure is judged on subnets, routes, groups",
    "aws:ec2/internetGateway:InternetGateway": "created by awsx; judged through the subnets routed to it",
    "aws:ec2/route:Route": "created by awsx from its inputs; judged through the subnets it makes public",
    "aws:ec2/routeTable:RouteTable": "created by awsx from its inputs; judged through its subnets",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "created by awsx; judged through its subnet",
    "aws:sns/topic:Topic": "judged through its policy and subscriptions (topic-* and prod-no-alert-emails)",
}
