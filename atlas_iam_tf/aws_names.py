"""AWS name rules as plain regexes, shared by the config model and the command line's flags.

Plain ``re`` and nothing else: ``verify --region`` checks its flag with the same rule as
``aws.region`` in the config without importing pydantic (about 0.2 s of start-up it does not need).
``config.py`` builds its ``Region`` type from these, and ``templates/variables.tf`` repeats them
character for character, so they stay in the subset Python's re and Terraform's RE2 agree on.
"""

from __future__ import annotations

import re

# Region codes are <area>-<direction>-<number>
# (https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html). Areas and
# directions are spelled out: "[a-z]{2}-[a-z]+-[1-9]" also takes typos like us-eest-1.
#
# Only the standard `aws` partition. Other partitions have their own ARN prefix (arn:aws-us-gov:,
# arn:aws-cn:, ...), endpoints and IAM, and GovCloud pairs with Atlas for Government, which has its own
# Admin API endpoint: none of that is built or tested here, so such a region is refused up front, with
# its reason (partition_problem), instead of failing somewhere later.
REGION = (
    r"(us|eu|ap|sa|ca|me|af|il|mx)-"
    r"(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9]"
)
REGION_RE = re.compile(rf"^{REGION}$")

# Region code prefixes of the partitions atlasiam does not support, and their names.
_OTHER_PARTITIONS = (
    ("us-gov-", "AWS GovCloud (US) partition (aws-us-gov)"),
    ("cn-", "AWS China partition (aws-cn)"),
    ("us-iso", "AWS ISO partitions (aws-iso, aws-iso-b)"),
    ("eusc-", "AWS European Sovereign Cloud partition"),
)


def region_problem(region: str) -> str | None:
    """Why ``region`` cannot be used, or None when it is a region of the standard ``aws`` partition."""
    for prefix, partition in _OTHER_PARTITIONS:
        if region.startswith(prefix):
            return f"is in the {partition}; atlasiam supports the standard aws partition only"
    if not REGION_RE.fullmatch(region):
        return "must be an AWS region like us-east-1"
    return None
