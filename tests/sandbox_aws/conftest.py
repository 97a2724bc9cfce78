from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from atlasiam_sandbox.aws import SandboxCloud


@pytest.fixture(scope="package")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxCloud]:
    """One cloud for the package: moto's backends are process-global (and starting one costs ~2 s)."""
    with SandboxCloud(tmp_path_factory.mktemp("cloud")) as sandbox:
        yield sandbox


@pytest.fixture(scope="package")
def ssm(cloud: SandboxCloud) -> Any:
    return cloud.client("ssm")
