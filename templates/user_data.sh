#!/bin/bash
# atlasiam host bootstrap: Python 3.11 with pymongo[aws] in /opt/atlasiam/venv.
# Amazon Linux 2023's system python3 is 3.9, too old for current pymongo.
set -euo pipefail
exec > >(tee -a /var/log/atlasiam-user-data.log) 2>&1

dnf install -y python3.11 python3.11-pip
python3.11 -m venv /opt/atlasiam/venv
/opt/atlasiam/venv/bin/python3 -m pip install --upgrade --quiet pip
/opt/atlasiam/venv/bin/python3 -m pip install --quiet 'pymongo[aws]>=4.7,<5'
touch /opt/atlasiam/ready
