"""Amazon SES v2 as moto's real HTTP server, with one verified sender identity."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import boto3
from moto.server import ThreadedMotoServer

from tests.support.services import free_port


@contextlib.contextmanager
def moto_ses(verified: str) -> Iterator[str]:
    """Yields the server's URL; ``verified`` may send."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        boto3.client(
            "sesv2",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        ).create_email_identity(EmailIdentity=verified)
        yield url
    finally:
        server.stop()
