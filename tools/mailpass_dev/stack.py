"""The real stack as subprocesses, for harnesses that measure or break it (``make bench``).

:class:`Stack` starts MongoDB (``MONGODB_URL``, or an nx-27017 wire server on a free port
with a temporary data directory), makes sure RabbitMQ answers (``scripts/rabbitmq.sh
ensure-running``), then the gateway, N senders and the scheduler loop, each with the
installed console script, its own management port (free ports, so a harness runs beside
``make run``), and its stdout and stderr in ``<log_dir>/<name>.log``. Each service runs in
a session of its own, so stopping one (SIGTERM, then SIGKILL after a grace period) also
stops any worker processes it forked. Every exchange and queue lives under the stack's own
``AMQP_PREFIX``; :meth:`Stack.delete_topology` removes them when the harness is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pymongo

from mailpass_common.platform.settings import CommonSettings
from mailpass_dev.processes import Service, StackError, free_port, script
from mailpass_dev.topology import delete_prefixed_topology

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class StackConfig:
    log_dir: Path
    senders: int = 1
    scheduler_interval_seconds: float = 0.5
    # Passed to every service last, so it overrides anything the stack sets.
    extra_env: Mapping[str, str] = field(default_factory=dict)
    amqp_prefix: str = field(default_factory=lambda: f"mailpass-stack-{secrets.token_hex(4)}")
    mongodb_database: str = field(default_factory=lambda: f"stack_{secrets.token_hex(4)}")
    # A broker the harness brought itself (``make chaos`` runs a node of its own): used as
    # is, never started by ``scripts/rabbitmq.sh``. None: ``AMQP_URL`` or the local broker.
    amqp_url: str | None = None
    # Also run mailpass-smtp (implicit TLS on ``Stack.submission_port``, a self-signed
    # certificate made into the log directory).
    smtp_submission: bool = False
    # Where the services' console scripts are (``make upgrade`` starts the previous
    # release's); None: this virtual environment's. nx-27017 always comes from this one.
    bin_dir: Path | None = None
    # Gateway processes, each on a port of its own (``Stack.gateway_urls``), as replicas.
    gateways: int = 1
    webhooks: int = 0  # mailpass-webhooks processes (relay and delivery consumer)


class Stack:
    """The whole stack, started by :meth:`start` and stopped by :meth:`stop`."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        config.log_dir.mkdir(parents=True, exist_ok=True)
        self.services: dict[str, Service] = {}
        self.mongodb: Service | None = None
        self._mongo_dir: str | None = None
        amqp_url = config.amqp_url or os.environ.get(
            "AMQP_URL", CommonSettings.model_fields["amqp_url"].default
        )
        self.env: dict[str, str] = {
            **os.environ,
            "ENVIRONMENT": "development",
            # The SMTP sinks listen on loopback, on ports of their own.
            "PROVIDER_ALLOWED_NETWORKS": "127.0.0.0/8,::1/128",
            "PROVIDER_ALLOWED_SMTP_PORTS": "1024-65535",
            "MONGODB_DATABASE": config.mongodb_database,
            "AMQP_URL": amqp_url,
            "AMQP_PREFIX": config.amqp_prefix,
            "SCHEDULER_INTERVAL_SECONDS": str(config.scheduler_interval_seconds),
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
        self.gateway_ports = [free_port() for _ in range(config.gateways)]
        self.gateway_port = self.gateway_ports[0]
        self.submission_port: int | None = None

    @property
    def mongodb_url(self) -> str:
        return self.env["MONGODB_URL"]

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    @property
    def gateway_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.gateway_ports]

    def settings(self) -> CommonSettings:
        """What the services read from the environment, for the harness's own connections."""
        keys = (
            "ENVIRONMENT",
            "MONGODB_URL",
            "MONGODB_DATABASE",
            "AMQP_URL",
            "AMQP_PREFIX",
            "SECRET_KEY",
        )
        values: dict[str, Any] = {k.lower(): self.env[k] for k in keys if k in self.env}
        return CommonSettings(**values)

    def managed(self) -> list[Service]:
        """The services serving ``/metrics`` on a management port."""
        return [s for s in self.services.values() if s.management_port is not None]

    # --- start -----------------------------------------------------------------------

    def _service(self, name: str, argv: list[str], env: Mapping[str, str] | None = None) -> Service:
        port = free_port()
        service = Service(
            name,
            argv,
            {**self.env, "MANAGEMENT_PORT": str(port), **(env or {}), **self.config.extra_env},
            self.config.log_dir / f"{name}.log",
            management_port=port,
        )
        self.services[name] = service
        return service

    def _start_mongodb(self) -> None:
        if os.environ.get("MONGODB_URL"):
            self.env["MONGODB_URL"] = os.environ["MONGODB_URL"]
            return
        # nx-27017 runs a scanning delete before every read of a collection with a TTL
        # index (README): like `make run`, the stack keeps messages and events, so what
        # it measures is the hot path, as on MongoDB, whose TTL monitor runs apart.
        self.env.setdefault("MESSAGE_METADATA_RETENTION_DAYS", "0")
        self._mongo_dir = tempfile.mkdtemp(prefix="mailpass-stack-nx-")
        port = free_port()
        self.mongodb = Service(
            "nx-27017",
            [
                script("nx-27017"),
                *("--data-dir", self._mongo_dir, "--port", str(port)),
                *("--log-file", str(self.config.log_dir / "nx-27017.server.log")),
                *("--pid-file", f"{self._mongo_dir}/nx.pid"),
            ],
            dict(os.environ),
            self.config.log_dir / "nx-27017.log",
        )
        self.mongodb.start()
        url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
        self.env["MONGODB_URL"] = url
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            if not self.mongodb.running():
                raise self._failure(self.mongodb, "exited while starting")
            try:
                client: pymongo.MongoClient[dict[str, Any]]
                with pymongo.MongoClient(url, serverSelectionTimeoutMS=1000) as client:
                    client.admin.command("ping")
                return
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline:
                    raise self._failure(self.mongodb, "did not answer") from None
                time.sleep(0.2)

    def _ensure_rabbitmq(self) -> None:
        if self.config.amqp_url is not None:
            return
        result = subprocess.run(
            [str(REPO_ROOT / "scripts" / "rabbitmq.sh"), "ensure-running"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(f"RabbitMQ is not available: {result.stderr.strip()}")

    def start(self) -> None:
        """Start everything and wait until each service answers ``/readyz``."""
        try:
            self._start_mongodb()
            self._ensure_rabbitmq()
            bin_dir = self.config.bin_dir
            for n, port in enumerate(self.gateway_ports, start=1):
                env = {"GATEWAY_HOST": "127.0.0.1", "GATEWAY_PORT": str(port)}
                name = "gateway" if n == 1 else f"gateway-{n}"
                self._service(name, [script("mailpass-gateway", bin_dir)], env)
            for n in range(1, self.config.senders + 1):
                self._service(f"sender-{n}", [script("mailpass-sender", bin_dir)])
            self._service("scheduler", [script("mailpass-scheduler", bin_dir), "loop"])
            for n in range(1, self.config.webhooks + 1):
                self._service(f"webhooks-{n}", [script("mailpass-webhooks", bin_dir)])
            if self.config.smtp_submission:
                self._add_submission()
            for service in self.services.values():
                service.start()
            asyncio.run(self._wait_ready())
        except BaseException:
            self.stop()
            raise

    def _add_submission(self) -> None:
        tls = self.config.log_dir / "smtp-tls"
        cert, key = tls / "tls.crt", tls / "tls.key"
        subprocess.run(
            [str(REPO_ROOT / "scripts" / "dev-smtp-cert.sh"), str(cert), str(key)], check=True
        )
        self.submission_port = free_port()
        env = {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_SUBMISSION_PORT": str(free_port()),
            "SMTP_SUBMISSIONS_PORT": str(self.submission_port),
            "SMTP_TLS_CERT_FILE": str(cert),
            "SMTP_TLS_KEY_FILE": str(key),
            "SMTP_HOSTNAME": "localhost",
        }
        self._service("smtp", [script("mailpass-smtp", self.config.bin_dir)], env)

    async def _wait_ready(self) -> None:
        async with httpx.AsyncClient(timeout=2) as client:
            await asyncio.gather(*(self._ready(client, s) for s in self.managed()))

    async def _ready(self, client: httpx.AsyncClient, service: Service) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        url = f"http://127.0.0.1:{service.management_port}/readyz"
        while time.monotonic() < deadline:
            if not service.running():
                raise self._failure(service, "exited while starting")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
        raise self._failure(service, f"was not ready within {READY_TIMEOUT_SECONDS:.0f}s")

    def replace(self, name: str, bin_dir: Path) -> Service:
        """Stop service ``name`` (SIGTERM: it finishes what it holds), start it again from
        ``bin_dir``'s console script with the same ports and environment, and wait until
        it is ready: one step of a rolling upgrade."""
        old = self.services[name]
        old.stop()
        argv = [script(Path(old.argv[0]).name, bin_dir), *old.argv[1:]]
        new = Service(name, argv, old.env, old.log_path, management_port=old.management_port)
        self.services[name] = new
        new.start()
        asyncio.run(self._wait_one(new))
        return new

    async def _wait_one(self, service: Service) -> None:
        async with httpx.AsyncClient(timeout=2) as client:
            await self._ready(client, service)

    def _failure(self, service: Service, what: str) -> StackError:
        return StackError(
            f"{service.name} {what}; log: {service.log_path}\n{service.log_tail()}".rstrip()
        )

    # --- health and stop -------------------------------------------------------------

    def check_alive(self) -> None:
        """Raise if any process of the stack has died."""
        for service in [*self.services.values(), *([self.mongodb] if self.mongodb else [])]:
            if not service.running():
                code = service.process.returncode if service.process else None
                raise self._failure(service, f"died (exit code {code})")

    def stop(self) -> None:
        """SIGTERM every service, SIGKILL what is still running after the grace period."""
        for service in self.services.values():
            service.signal(signal.SIGTERM)
        for service in self.services.values():
            service.stop()
        if self.mongodb is not None:
            self.mongodb.stop()
        if self._mongo_dir is not None:
            shutil.rmtree(self._mongo_dir, ignore_errors=True)
            self._mongo_dir = None

    async def delete_topology(self) -> list[str]:
        """Delete the stack's exchange and queues (quorum queues outlive their consumers)."""
        return await delete_prefixed_topology(self.env["AMQP_URL"], self.config.amqp_prefix)


@contextlib.asynccontextmanager
async def running_stack(config: StackConfig) -> AsyncIterator[Stack]:
    """The stack for the duration of the block; stopped and its queues deleted after."""
    stack = Stack(config)
    await asyncio.to_thread(stack.start)
    try:
        yield stack
    finally:
        await asyncio.to_thread(stack.stop)
        await stack.delete_topology()
