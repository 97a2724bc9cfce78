"""An emulated Atlas cluster endpoint: MongoDB wire protocol over TLS with genuine MONGODB-AWS authentication.

The endpoint checks a client's SigV4 signature the way Atlas does: it replays the signed ``GetCallerIdentity``
request to STS (a moto server in the sandbox, behind STS's own signature check, which is always on), maps the
caller ARN to a database user of the emulated Atlas control plane (:class:`~atlasiam_sandbox.atlas_state.AtlasState`)
and answers ``Authentication failed.`` (code 18) for every failure, while recording the precise reason in
:attr:`MongoEndpoint.auth_log`.
"""

from __future__ import annotations

from atlasiam_sandbox.mongo.awsauth import AuthAttempt
from atlasiam_sandbox.mongo.server import MongoEndpoint

__all__ = ["AuthAttempt", "MongoEndpoint"]
