"""Helpers shared by the endpoint tests: moto control, credentials, a settable clock, a pymongo client factory."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import pymongo
import pytest

from atlasiam_sandbox.aws.moto_server import MotoView
from atlasiam_sandbox.aws.sigv4 import SigningKey
from atlasiam_sandbox.mongo import MongoEndpoint

PROJECT = "6650a1b2c3d4e5f601234567"
CLUSTER = "Cluster0"
REPLICA_SET = "atlas-abc123-shard-0"
ACCOUNT = "123456789012"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)


@dataclass(frozen=True)
class AwsCreds:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass
class Moto:
    """The session's moto server, with helpers for IAM setup and the key lookup STS's signature check uses."""

    url: str
    host: str
    port: int

    def _post(self, path: str, body: str) -> None:
        # A reset rebuilds every moto backend in use: about 1 s alone, several under a loaded CI's two
        # workers. The product's own client waits 30 s (aws/moto_server.py); 5 s here made setup flaky.
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request("POST", path, body=body)
            assert conn.getresponse().status == 200
        finally:
            conn.close()

    def reset(self) -> None:
        self._post("/moto-api/reset", "")

    def keys(self, access_key_id: str) -> SigningKey | None:
        """What STS knows about a key: the endpoint's signature check looks secrets up here (moto's state)."""
        return MotoView(ACCOUNT, "us-east-1").signing_key(access_key_id)

    def client(self, service: str, creds: AwsCreds | None = None) -> Any:
        creds = creds or AwsCreds("testing", "setup-secret")
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            aws_session_token=creds.session_token,
        )

    def create_role(self, name: str, path: str = "/") -> str:
        role = self.client("iam").create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=TRUST)["Role"]
        return str(role["Arn"])

    def assume_role(self, role_arn: str, session: str = "probe") -> AwsCreds:
        c = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
        return AwsCreds(c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

    def create_user_keys(self, name: str) -> tuple[str, AwsCreds]:
        iam = self.client("iam")
        arn: str = iam.create_user(UserName=name)["User"]["Arn"]
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return arn, AwsCreds(key["AccessKeyId"], key["SecretAccessKey"])


@dataclass
class Clock:
    offset: float = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@dataclass
class Clients:
    """Makes pymongo clients the way the probe does (credentials from env, never in the URI); closes them."""

    endpoint: MongoEndpoint
    monkeypatch: pytest.MonkeyPatch
    made: list[pymongo.MongoClient[dict[str, Any]]] = field(default_factory=list)

    def aws(self, creds: AwsCreds) -> pymongo.MongoClient[dict[str, Any]]:
        self.monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key_id)
        self.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_access_key)
        if creds.session_token:
            self.monkeypatch.setenv("AWS_SESSION_TOKEN", creds.session_token)
        else:
            self.monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        return self._make(authMechanism="MONGODB-AWS", authSource="$external")

    def anonymous(self) -> pymongo.MongoClient[dict[str, Any]]:
        return self._make()

    def _make(self, **kwargs: Any) -> pymongo.MongoClient[dict[str, Any]]:
        client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
            self.endpoint.uri, tlsCAFile=str(self.endpoint.ca_file), serverSelectionTimeoutMS=5000, **kwargs
        )
        self.made.append(client)
        return client
