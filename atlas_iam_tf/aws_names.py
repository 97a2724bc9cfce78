"""AWS name rules as plain regexes, shared by the config model and the command line's flags.

Plain ``re`` and nothing else: ``verify --region`` checks its flag with the same rule as
``aws.region`` in the config without importing pydantic (about 0.2 s of start-up it does not need).
``config.py`` builds its ``Region`` type from these, and ``templates/variables.tf`` repeats them
character for character, so they stay in the subset Python's re and Terraform's RE2 agree on.
"""

from __future__ import annotations

import re

# Region codes are <area>-<direction>-<number>, with -gov / -iso / -isob for GovCloud and the ISO
# partitions (https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-regions.html).
# Areas and directions are spelled out: "[a-z]{2}-[a-z]+-[1-9]" also takes typos like us-eest-1.
REGION = (
    r"(us|eu|ap|sa|ca|me|af|il|mx)(-gov|-iso|-isob)?-"
    r"(north|south|east|west|central|northeast|southeast|northwest|southwest)-[1-9]"
)
REGION_RE = re.compile(rf"^{REGION}$")
