"""The atlasiam command line: thin commands and the one place errors become exit codes."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from atlas_iam_tf.output import Output

app = typer.Typer(
    name="atlasiam",
    help="Provision and prove passwordless (AWS IAM) access from AWS compute to MongoDB Atlas.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOpt = Annotated[
    Path, typer.Option("--config", "-c", envvar="ATLASIAM_CONFIG", help="Config file.", show_default=True)
]
JsonOpt = Annotated[
    bool,
    typer.Option("--json", envvar="ATLASIAM_JSON", help="Print one JSON document on stdout, nothing else."),
]
TfBinOpt = Annotated[
    str | None,
    typer.Option("--terraform-bin", envvar="ATLASIAM_TERRAFORM_BIN", help="terraform/tofu binary (default: embedded)."),
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (needed without a TTY).")]
DEFAULT_CONFIG = Path("atlasiam.toml")


def _output(json_mode: bool) -> Output:
    from atlas_iam_tf.output import Output  # imported here, not at the top: keeps --help fast

    return Output(json_mode=json_mode)


@app.command()
def init(
    path: ConfigOpt = DEFAULT_CONFIG,
    name: Annotated[str | None, typer.Option(help="Resource name prefix.")] = None,
    project_id: Annotated[str | None, typer.Option(help="Atlas project id (24 hex).")] = None,
    cluster_name: Annotated[str | None, typer.Option(help="Atlas cluster name.")] = None,
    region: Annotated[str, typer.Option(help="AWS region.")] = "us-east-1",
    environment: Annotated[str, typer.Option(help="Environment name.")] = "dev",
    role: Annotated[list[str] | None, typer.Option(help="ROLE@DATABASE, repeatable.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    json_mode: JsonOpt = False,
) -> int:
    """Write a commented starter atlasiam.toml."""
    from atlas_iam_tf.commands import init as cmd

    return cmd.run(
        _output(json_mode),
        path,
        name=name,
        project_id=project_id,
        cluster_name=cluster_name,
        region=region,
        environment=environment,
        roles=role or [],
        force=force,
    )


@app.command()
def render(
    config: ConfigOpt = DEFAULT_CONFIG,
    out: Annotated[Path | None, typer.Option("--out", help="Write a clean copy of the module here.")] = None,
    force: Annotated[bool, typer.Option(help="Write into a non-empty --out directory.")] = False,
    module_only: Annotated[
        bool,
        typer.Option("--module-only", help="Write only the atlas-iam-access module into --out (no config needed)."),
    ] = False,
    json_mode: JsonOpt = False,
) -> int:
    """Render the Terraform root and its module (no credentials needed)."""
    from atlas_iam_tf.commands import render as cmd

    return cmd.run(_output(json_mode), config, dest=out, force=force, module_only=module_only)


@app.command()
def wheelhouse(
    out: Annotated[Path, typer.Option("--out", help="Directory for the wheels (created if missing).")] = Path(
        "wheelhouse"
    ),
    json_mode: JsonOpt = False,
) -> int:
    """Download the probe's wheels for a private-mode host (the module's wheelhouse_dir)."""
    from atlas_iam_tf.commands import wheelhouse as cmd

    return cmd.run(_output(json_mode), out)


@app.command()
def plan(
    config: ConfigOpt = DEFAULT_CONFIG,
    terraform_bin: TfBinOpt = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 4 when the plan has changes.")
    ] = False,
    json_mode: JsonOpt = False,
) -> int:
    """Show and save what apply would change."""
    from atlas_iam_tf.commands import plan as cmd

    return cmd.run(_output(json_mode), config, terraform_bin=terraform_bin, detailed_exitcode=detailed_exitcode)


@app.command()
def apply(
    config: ConfigOpt = DEFAULT_CONFIG,
    terraform_bin: TfBinOpt = None,
    yes: YesOpt = False,
    json_mode: JsonOpt = False,
) -> int:
    """Create or update the stack (applies the saved plan when it still matches)."""
    from atlas_iam_tf.commands import apply as cmd

    return cmd.run(_output(json_mode), config, terraform_bin=terraform_bin, yes=yes)


@app.command()
def destroy(
    config: ConfigOpt = DEFAULT_CONFIG,
    terraform_bin: TfBinOpt = None,
    yes: YesOpt = False,
    json_mode: JsonOpt = False,
) -> int:
    """Destroy everything this environment created."""
    from atlas_iam_tf.commands import destroy as cmd

    return cmd.run(_output(json_mode), config, terraform_bin=terraform_bin, yes=yes)


@app.command()
def output(config: ConfigOpt = DEFAULT_CONFIG, terraform_bin: TfBinOpt = None, json_mode: JsonOpt = False) -> int:
    """Print the outputs of the applied stack."""
    from atlas_iam_tf.commands import output as cmd

    return cmd.run(_output(json_mode), config, terraform_bin=terraform_bin)


@app.command()
def verify(
    config: ConfigOpt = DEFAULT_CONFIG,
    instance_id: Annotated[list[str] | None, typer.Option("--instance-id", help="Host to verify (repeatable).")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Select hosts by tag Key=Value (repeatable).")] = None,
    uri: Annotated[str | None, typer.Option(help="Cluster connection string (default: the stack's output).")] = None,
    expect_arn: Annotated[str | None, typer.Option(help="The database username (ARN) to expect.")] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of the hosts.")] = None,
    cluster_name: Annotated[str | None, typer.Option(help="Cluster the URI points at (for diagnosis).")] = None,
    from_here: Annotated[bool, typer.Option("--from-here", help="Probe from this machine, not the host.")] = False,
    assume_role: Annotated[str | None, typer.Option(help="With --from-here: STS AssumeRole this role ARN.")] = None,
    session_token: Annotated[
        bool, typer.Option("--session-token", help="With --from-here: STS GetSessionToken (IAM user keys).")
    ] = False,
    wait: Annotated[float, typer.Option(help="Seconds to retry auth failures/timeouts (propagation).")] = 180.0,
    online_timeout: Annotated[float, typer.Option(help="Seconds to wait for hosts to be Online in SSM.")] = 300.0,
    atlas_project_id: Annotated[
        str | None, typer.Option(help="Atlas project to ask about the user (default: the config's).")
    ] = None,
    privatelink_endpoint_id: Annotated[
        str | None,
        typer.Option(help="The URI goes through this interface endpoint (vpce-…): ask Atlas for its state."),
    ] = None,
    workload: Annotated[
        list[str] | None,
        typer.Option("--workload", help="Verify only this workload ('host': the EC2 host; repeatable)."),
    ] = None,
    json_mode: JsonOpt = False,
) -> int:
    """Prove the login works: run a MONGODB-AWS probe where each workload runs, or --from-here.

    The host over SSM, a Lambda function, an ECS task, an EKS pod: each as its own role.
    """
    from atlas_iam_tf.commands import verify as cmd
    from atlas_iam_tf.verify.request import VerifyOptions

    opts = VerifyOptions(
        config_path=config,
        instance_ids=tuple(instance_id or ()),
        tags=tuple(tag or ()),
        uri=uri,
        expect_arn=expect_arn,
        region=region,
        cluster_name=cluster_name,
        from_here=from_here,
        assume_role=assume_role,
        session_token=session_token,
        wait_s=wait,
        online_timeout_s=online_timeout,
        atlas_project_id=atlas_project_id,
        privatelink_endpoint_id=privatelink_endpoint_id,
        workloads=tuple(workload or ()),
    )
    return cmd.run(_output(json_mode), opts)


@app.callback()
def _root(
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox", help="Run against the offline sandbox of this directory (started on demand)."),
    ] = False,
) -> None:
    """Provision and prove passwordless (AWS IAM) access from AWS compute to MongoDB Atlas."""
    if sandbox:
        from atlas_iam_tf.commands import sandbox as cmd

        os.environ.update(cmd.environment(Path.cwd()))


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def sandbox(ctx: typer.Context, json_mode: JsonOpt = False) -> int:
    """The offline sandbox: up | down | status | env (`atlasiam sandbox --help`; needs atlasiam[sandbox])."""
    from atlas_iam_tf.commands import sandbox as cmd

    return cmd.run(_output(json_mode), ctx.args)


# How click reads a boolean from the environment (stripped, lower-cased): --json's envvar is read by
# click when the command runs, and by _wants_json when an error comes first; both must agree.
_ENV_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})


def _wants_json(argv: list[str]) -> bool:
    return "--json" in argv or os.environ.get("ATLASIAM_JSON", "").strip().lower() in _ENV_TRUE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and map every outcome to a documented exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = app(args=args, prog_name="atlasiam", standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.TyperException as exc:  # bad flags, missing arguments: click's usage errors
        if _wants_json(args):
            _output(True).error("usage", exc.format_message(), "see `atlasiam --help`")
        else:
            from atlas_iam_tf.output import escape_controls

            # click repeats an unknown option or command as typed: escape it before it reaches the terminal
            exc.message = escape_controls(exc.message)
            exc.show()  # type: ignore[attr-defined]  # click's ClickException.show
        return _exit_code("USAGE")
    except (KeyboardInterrupt, typer.Abort):
        _output(_wants_json(args)).error("cancelled", "cancelled")
        return _exit_code("CANCELLED")
    except Exception as exc:
        # atlasiam.errors is imported only here, when needed: `atlasiam --help` stays as light as typer
        from atlas_iam_tf.errors import AtlasIamError

        if not isinstance(exc, AtlasIamError):
            raise
        _output(_wants_json(args)).error(exc.code, exc.message, exc.hint)
        return int(exc.exit_code)
    return int(rv) if isinstance(rv, int) else 0


def _exit_code(name: str) -> int:
    from atlas_iam_tf.errors import ExitCode

    return int(ExitCode[name])


def entrypoint() -> None:
    """Console-script entry point: one run of atlasiam in its own process."""
    code = main()
    # What a run allocated is freed by reference counting; the collection at exit would only walk the
    # large, long-lived graphs (the AWS SDK's service models, pydantic's schemas) once more: 50-90 ms.
    gc.freeze()
    sys.exit(code)
