#!/bin/bash
# atlasiam host bootstrap: Python 3.11 with pymongo[aws] in /opt/atlasiam/venv.
# Amazon Linux 2023's system python3 is 3.9, too old for current pymongo.
# SSM Agent is usually Online before this script is done: `atlasiam verify` waits for one of two markers,
# /opt/atlasiam/ready (written last) or /opt/atlasiam/failed (what failed), and points at this log.
set -euo pipefail
mkdir -p /opt/atlasiam
rm -f /opt/atlasiam/ready /opt/atlasiam/failed
exec > >(tee -a /var/log/atlasiam-user-data.log) 2>&1
trap 'rc=$?; echo "atlasiam bootstrap failed: exit $rc at line $LINENO: $BASH_COMMAND" | tee /opt/atlasiam/failed' ERR

dnf install -y python3.11 python3.11-pip
python3.11 -m venv /opt/atlasiam/venv
/opt/atlasiam/venv/bin/python3 -m pip install --upgrade --quiet pip
/opt/atlasiam/venv/bin/python3 -m pip install --quiet 'pymongo[aws]>=4.7,<5'
touch /opt/atlasiam/ready
echo "atlasiam bootstrap done"
