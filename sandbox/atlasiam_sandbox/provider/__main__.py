"""Plugin entry point: `python -m atlasiam_sandbox.provider --schema FILE [options]`.

Imports stay minimal until the go-plugin magic cookie has been checked: Terraform starts one process per
phase, so start-up time matters.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
SCHEMA_ENV = "ATLASIAM_PROVIDER_SCHEMA"
LOG_ENV = "ATLASIAM_PROVIDER_LOG"
NOT_A_PROGRAM = (
    "This binary is a plugin. These are not meant to be executed directly.\n"
    "Please execute the program that consumes these plugins, which will\n"
    "load any plugins automatically\n"
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="atlasiam_sandbox.provider", description=__doc__)
    parser.add_argument("--schema", type=Path, default=os.environ.get(SCHEMA_ENV), help="provider schema JSON")
    parser.add_argument("--address", default="hashicorp/aws", help="provider source address (reattach key)")
    parser.add_argument("--tls-dir", type=Path, default=None, help="directory with a pre-generated cert/key pair")
    parser.add_argument("--schema-cache", type=Path, default=None, help="pre-serialized GetProviderSchema response")
    parser.add_argument("--debug", action="store_true", help="serve plaintext and print TF_REATTACH_PROVIDERS")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the plugin; returns the exit code."""
    args = parse_args(argv)
    if not args.debug and os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE:
        sys.stderr.write(NOT_A_PROGRAM)
        return 1
    if args.schema is None:
        sys.stderr.write(f"no provider schema: pass --schema or set {SCHEMA_ENV}\n")
        return 1
    level = os.environ.get(LOG_ENV)
    if level:
        logging.basicConfig(stream=sys.stderr, level=level.upper(), format="%(asctime)s %(name)s %(message)s")
    else:
        # Silence logging entirely (no "last resort" stderr output) unless asked for.
        logging.getLogger("atlasiam_sandbox").addHandler(logging.NullHandler())
        logging.getLogger("atlasiam_sandbox").propagate = False
    from atlasiam_sandbox.provider.server import ServeOptions, serve

    return serve(
        ServeOptions(
            schema=args.schema,
            address=args.address,
            tls_dir=args.tls_dir,
            schema_cache=args.schema_cache,
            debug=args.debug,
        )
    )


if __name__ == "__main__":
    sys.exit(main())
