"""platformctl's own moto server (`python -m platformctl.emulators.moto_server`) on a free port, for
tests that need functions to run: its Lambda cache in the test's folder, its AWS
variables its own."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from conftest import start_moto

ACCOUNT = "000000000000"
REGION = "us-east-1"


class Server:
    def __init__(self, tmp: Path) -> None:
        self.log = tmp / "moto.log"
        self.server = start_moto(
            self.log,
            ACCOUNT,
            env={
                "PLATFORMCTL_LAMBDA_CACHE": str(tmp / "lambda-cache"),
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_CONFIG_FILE": os.devnull,
            },
        )
        self.port, self.endpoint, self.process = self.server.port, self.server.endpoint, self.server.process

    def client(self, service: str) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}, read_timeout=60, s3={"addressing_style": "path"}),
        )

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
