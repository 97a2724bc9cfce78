"""`python -m atlasiam_sandbox`: the same as the `atlasiam-sandbox` command."""

from atlasiam_sandbox.cli import main

raise SystemExit(main())
