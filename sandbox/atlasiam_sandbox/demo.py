"""`make demo`: the whole job against the offline sandbox, as a user would type it.

sandbox up → an operator's IAM user → the team's Lambda network (a VPC with NAT) added to the config as a
second workload → plan → apply → verify (on the host over the emulated SSM, and as a probe Lambda function) →
verify --from-here --assume-role, refused for an identity the role does not trust, then as the operator
the example config lists in aws.verify_principals → destroy → sandbox down. Real Terraform 1.15.5, real
boto3, real pymongo doing MONGODB-AWS; emulated AWS (moto + SSM + IMDS) and Atlas (Admin API + MongoDB
endpoint). No account. The emulated STS enforces trust policies as AWS does, so nothing here passes that
AWS would refuse.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

EXAMPLE = Path("examples") / "atlasiam.toml"
# The operator who runs `verify --from-here`: examples/atlasiam.toml lists this user in aws.verify_principals,
# so the host role trusts it. It must exist before apply: IAM refuses a trust policy naming a missing user.
OPERATOR = "demo-operator"
OPERATOR_ARN = f"arn:aws:iam::123456789012:user/{OPERATOR}"


def _say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m" if sys.stdout.isatty() else f"\n== {text}", flush=True)


def _atlasiam(
    project: Path, *args: str, capture: bool = False, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "atlas_iam_tf", *args]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MONGODB_ATLAS_", "TF_", "ATLASIAM_"))}
    return subprocess.run(
        argv, cwd=project, env=clean | (env or {}), text=True, check=False, stdout=subprocess.PIPE if capture else None
    )


def _operator_env(project: Path) -> dict[str, str]:
    """Create the operator's IAM user and access key in the emulated account; the sandbox's env with its keys."""
    import boto3

    env = json.loads(_atlasiam(project, "sandbox", "env", "--json", capture=True).stdout)["data"]
    iam = boto3.session.Session().client(
        "iam",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    if iam.create_user(UserName=OPERATOR)["User"]["Arn"] != OPERATOR_ARN:
        raise SystemExit(f"demo: the emulated account named the operator otherwise than {OPERATOR_ARN}")
    key = iam.create_access_key(UserName=OPERATOR)["AccessKey"]
    return {**env, "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}


def _from_here(project: Path, role: str, operator_env: dict[str, str]) -> int:
    """Run `verify --from-here --assume-role`: refused for an identity the role does not trust, then as the operator."""
    _say(f"atlasiam --sandbox verify --from-here --assume-role {role}")
    print("   (as the sandbox's default identity, which the role does not trust: STS refuses, as on AWS)")
    refused = _atlasiam(project, "--sandbox", "verify", "--from-here", "--assume-role", role).returncode
    if refused != 1:
        print(f"demo: expected verify to exit 1 for an untrusted caller, got {refused}")
        return refused or 1
    _say(f"AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… atlasiam verify --from-here --assume-role {role}")
    print(f'   (in the sandbox\'s environment, eval "$(atlasiam sandbox env)", with the keys of {OPERATOR_ARN},')
    print("    whom aws.verify_principals adds to the role's trust policy)")
    return _atlasiam(project, "verify", "--from-here", "--assume-role", role, env=operator_env).returncode


def _client(env: dict[str, str], service: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def _lambda_network(project: Path) -> dict[str, str]:
    """The team's network for its Lambda function, made in the emulated account before apply, as a team has it.

    A function in a VPC has no public IP: it reaches Atlas's public address only through a NAT gateway, from the
    NAT's Elastic IP, which goes on the Atlas access list (the workload's egress_cidrs). Returns the private
    subnet, the function's security group and the NAT's address.
    """
    env = json.loads(_atlasiam(project, "sandbox", "env", "--json", capture=True).stdout)["data"]
    # Here, not at the top: importing atlasiam_sandbox.aws loads moto, which this process never runs.
    from atlasiam_sandbox.aws.team_network import team_network

    network = team_network(_client(env, "ec2"), "10.60", "orders-fn")
    return {"subnet": network.private_subnet_id, "group": network.security_group_id, "nat_ip": str(network.nat_ip)}


def _add_lambda_workload(project: Path, network: dict[str, str]) -> None:
    """Add the team's Lambda function to the demo's copy of the config: a second workload, of another kind."""
    table = (
        "\n# Added by the demo: the team's Lambda function, in its own VPC behind NAT (made above).\n"
        "[[workloads]]\n"
        'name = "fn"\n'
        'kind = "lambda"\n'
        f'subnet_ids = ["{network["subnet"]}"]\n'
        f'security_group_ids = ["{network["group"]}"]\n'
        f'egress_cidrs = ["{network["nat_ip"]}/32"]\n'
    )
    with (project / "atlasiam.toml").open("a", encoding="utf-8") as config:
        config.write(table)
    print(table)


def run_demo(root: Path) -> int:
    """Run the demo in ``root/.atlasiam/demo/project``; return 0 or the first failing exit code."""
    started = time.monotonic()
    project = root / ".atlasiam" / "demo" / "project"
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    shutil.copyfile(root / EXAMPLE, project / "atlasiam.toml")
    _say("atlasiam sandbox up   (emulated AWS + Atlas on 127.0.0.1)")
    if (code := _atlasiam(project, "sandbox", "up").returncode) != 0:
        return code
    try:
        _say(f"aws iam create-user --user-name {OPERATOR} && aws iam create-access-key --user-name {OPERATOR}")
        print("   (the operator who verifies from here; the example config trusts it: aws.verify_principals)")
        operator_env = _operator_env(project)
        _say("aws ec2 create-vpc … create-nat-gateway …   (the team's Lambda network: a private subnet behind NAT)")
        _add_lambda_workload(project, _lambda_network(project))
        steps: list[tuple[str, ...]] = [("plan",), ("apply", "--yes"), ("verify", "--wait", "60")]
        for step in steps:
            _say("atlasiam --sandbox " + " ".join(step))
            if (code := _atlasiam(project, "--sandbox", *step).returncode) != 0:
                return code
        outputs = json.loads(_atlasiam(project, "--sandbox", "output", "--json", capture=True).stdout)["data"]
        role = outputs["role_arn"]
        fn_role = outputs["workloads"]["fn"]["role_arn"]
        if (code := _from_here(project, role, operator_env)) != 0:
            return code
        _say("atlasiam --sandbox destroy --yes")
        if (code := _atlasiam(project, "--sandbox", "destroy", "--yes").returncode) != 0:
            return code
    finally:
        _say("atlasiam sandbox down")
        _atlasiam(project, "sandbox", "down")
    _say(
        f"Demo done in {time.monotonic() - started:.1f}s: the host's IAM role {role} logged in to the "
        f"emulated Atlas cluster with MONGODB-AWS, from the host over SSM and from here via STS as {OPERATOR}; "
        f"the Lambda function's role {fn_role} from a probe function run as that role, in its VPC behind NAT."
    )
    return 0


def main() -> int:
    """Entry point for ``python -m atlasiam_sandbox.demo``."""
    return run_demo(Path.cwd())


if __name__ == "__main__":
    raise SystemExit(main())
