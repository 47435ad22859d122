"""A local server that speaks the S3 protocol (moto in server mode), checking SigV4.

It is started with IAM authentication on: every request must be signed (AWS4-HMAC-SHA256)
with the access key of a user whose policy allows it, as on AWS S3 or Aliyun OSS."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import boto3
import httpx
from botocore.config import Config

from backend.config import Settings

REGION = "us-east-1"
BUCKET = "signlink-blobs"
PREFIX = "blobs/"


@dataclass(frozen=True)
class S3Server:
    url: str
    access_key_id: str
    secret_access_key: str

    def client(self, secret: str | None = None) -> Any:
        """A plain boto3 client, as an operator would use to look into the bucket."""
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=secret or self.secret_access_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def settings(self, base: Settings, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "blob_store": "s3",
            "s3_endpoint_url": self.url,
            "s3_bucket": BUCKET,
            "s3_region": REGION,
            "s3_access_key_id": self.access_key_id,
            "s3_secret_access_key": self.secret_access_key,
            "s3_prefix": PREFIX,
            "s3_addressing_style": "path",
        }
        return replace(base, **{**values, **overrides})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_s3() -> Iterator[S3Server]:
    from moto import settings as moto_settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        # Before authentication is switched on: a user allowed to use S3, its key, a bucket.
        boot = {
            "endpoint_url": url,
            "region_name": REGION,
            "aws_access_key_id": "bootstrap",
            "aws_secret_access_key": "bootstrap",
        }
        iam = boto3.client("iam", **boot)
        iam.create_user(UserName="signlink")
        iam.put_user_policy(
            UserName="signlink",
            PolicyName="blobs",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="signlink")["AccessKey"]
        boto3.client("s3", **boot).create_bucket(Bucket=BUCKET)
        httpx.post(f"{url}/moto-api/reset-auth", content=b"0").raise_for_status()
        yield S3Server(url, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        # The server runs in this process: leave moto as it was for anything after us
        # (its users, keys and buckets are process-wide too).
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
        ActionAuthenticatorMixin.request_count = 0
        httpx.post(f"{url}/moto-api/reset")
        server.stop()
