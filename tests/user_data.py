"""The module's user data as Terraform renders it, for tests that boot hosts without Terraform.

``modules/atlas-iam-access/user_data.sh.tftpl`` keeps its template part to four header lines; this fills
them the way host.tf's ``templatefile`` call does. ``tests/tf/test_user_data.py`` checks the result against
the ``user_data`` a real Terraform plan carries, so the two cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path

from atlas_iam_tf import wheelhouse

MODULE = Path(__file__).resolve().parents[1] / "modules" / "atlas-iam-access"
VENV_PYTHON = "/opt/atlasiam/venv/bin/python3"


def requirements() -> list[str]:
    """The module's requirements.txt, as host.tf reads it (and the wheelhouse is built from it)."""
    return wheelhouse.requirements(MODULE)


def user_data(*, bootstrap: bool = True, wheelhouse_bucket: str = "") -> str:
    """The rendered script: ``templatefile`` with the same variables host.tf passes."""
    text = (MODULE / "user_data.sh.tftpl").read_text(encoding="utf-8")
    values = {
        "bootstrap": "true" if bootstrap else "false",
        "wheelhouse_bucket": wheelhouse_bucket,
        "requirements": " ".join(f"'{r}'" for r in requirements()),
        "venv_python": VENV_PYTHON,
    }
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text.replace("$${", ""), "user_data.sh.tftpl has a template reference this helper misses"
    return text.replace("$${", "${")


USER_DATA = user_data()
