"""`atlasiam verify`: prove the host's role can log in to Atlas (over SSM), or from here with STS."""

from __future__ import annotations

from atlas_iam_tf.errors import AtlasIamError, ExitCode, UsageError
from atlas_iam_tf.output import Output
from atlas_iam_tf.verify.request import VerifyOptions, build_request


def run(out: Output, opts: VerifyOptions) -> int:
    """Verify and show one row per target; exit 0 when all pass, 3 when any fails."""
    try:
        req = build_request(opts)
    except OSError as exc:
        if isinstance(exc, AtlasIamError):
            raise
        # build_request asks whether --config exists; a path the OS refuses to look at (a name too long)
        # is bad input, not a crash.
        raise UsageError(f"--config {opts.config_path}: {exc.strerror or exc}") from None
    target = req.redacted_uri if req.uri else "the cluster (the stack has no private-endpoint connection string)"
    out.step(f"Verifying MONGODB-AWS login to {target}" + (f" over {req.path}" if req.path else ""))
    from atlas_iam_tf.verify.service import run_verify  # botocore: only once the request is valid

    report = run_verify(opts, req, out.progress)
    out.result(report.to_dict())
    out.verify_report(report)
    return ExitCode.OK if report.ok else ExitCode.VERIFY_FAILED
