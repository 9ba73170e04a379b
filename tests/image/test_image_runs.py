"""The image, built (`make image`: podman on these machines) and run as the chart runs it:
each component with the chart's own command, as uid 10001 on a read-only root with /tmp a
tmpfs and every capability dropped, against the test's RabbitMQ and database; the probes
answer and a message goes through it end to end.

The build reuses podman's layers (the debootstrap base is made once per machine, the
dependency layer once per lock), so a run rebuilds only the layer with MailPass itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import smtplib
import ssl
import subprocess
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.helm.chart import ROOT, containers, deep_merge, render, scenario_values, workloads
from tests.support.services import free_port
from tests.support.smtp import SmtpServer
from tests.support.tenants import make_tenant
from tests.support.tls import self_signed_cert

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE = os.environ.get("MAILPASS_IMAGE", f"localhost/mailpass:{VERSION}")
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager=cgroupfs"]


@pytest.fixture(scope="module")
def image() -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "image.sh")],
        env={**os.environ, "IMAGE": IMAGE},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, f"make image failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return IMAGE


# Every optional component on, so that each one's container is rendered.
OPTIONAL_ON: dict[str, Any] = {
    "config": {"mtaReturnPathDomain": "bounces.example.com"},
    "inbound": {"enabled": True},
    "smtp": {"enabled": True, "tls": {"secretName": "smtp-tls"}},
}


def chart_containers() -> dict[str, dict[str, Any]]:
    """Each component's container as the chart renders it."""
    found = {}
    values = deep_merge(scenario_values()["default"], OPTIONAL_ON)
    for workload in workloads(render(values)):
        component = workload["metadata"]["labels"]["app.kubernetes.io/component"]
        (container,) = containers(workload)
        found[component] = container
    return found


def podman_run_args(container: dict[str, Any]) -> list[str]:
    """`podman run` options for what the chart's security context says."""
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    uid = context.get("runAsUser", 10001)
    return [
        "--read-only",
        "--tmpfs",
        "/tmp:rw,size=64m,mode=1777",
        "--user",
        f"{uid}:{context.get('runAsGroup', uid)}",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--network",
        "host",
        # this sandbox's limits (podman's defaults ask for more than it may set)
        "--ulimit",
        "nofile=1024:20000",
        "--ulimit",
        "nproc=1024:1024",
    ]


class Containers:
    """Components started from the image; all removed at the end."""

    def __init__(self, image: str, env: dict[str, str]) -> None:
        self.image, self.env = image, env
        self.names: list[str] = []
        self.tag = secrets.token_hex(3)

    def run(
        self,
        container: dict[str, Any],
        *,
        detach: bool,
        volumes: dict[str, Path] | None = None,
        **env: str,
    ) -> str:
        """Start ``container`` as the chart does: its command, its plain settings (the
        chart's values, then ``env``), its emptyDirs as tmpfs, the Secrets' volumes given
        as host folders."""
        name = f"mailpass-test-{self.tag}-{len(self.names)}"
        self.names.append(name)
        plain = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
        plain = {k: v for k, v in plain.items() if "$(" not in v}  # no downward API here
        variables = [f"--env={k}={v}" for k, v in {**plain, **self.env, **env}.items()]
        given = volumes or {}
        mounts = [
            # a Secret's files from the host; every other volume is an emptyDir: a tmpfs
            f"--volume={given[m['name']]}:{m['mountPath']}:ro"
            if m["name"] in given
            else f"--tmpfs={m['mountPath']}:rw,size=64m,mode=1777"
            for m in container.get("volumeMounts", [])
            if m["mountPath"] != "/tmp"  # podman_run_args mounts it
        ]
        variables += mounts
        command = [*container["command"], *container.get("args", [])]
        done = subprocess.run(
            [*PODMAN, "run", *(["-d"] if detach else []), "--name", name,
             *podman_run_args(container), *variables, self.image, *command],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}{self.logs(name)}"
        return name

    def logs(self, name: str) -> str:
        done = subprocess.run([*PODMAN, "logs", name], capture_output=True, text=True)
        return (done.stdout + done.stderr)[-3000:]

    def remove(self) -> None:
        if self.names:
            subprocess.run([*PODMAN, "rm", "-f", *self.names], capture_output=True, timeout=120)


@contextlib.contextmanager
def containers_of(image: str, env: dict[str, str]) -> Iterator[Containers]:
    running = Containers(image, env)
    try:
        yield running
    finally:
        running.remove()


async def wait_ready(url: str, what: str, running: Containers, name: str) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    assert (await client.get(f"{url}/healthz")).status_code == 200
                    return
            await asyncio.sleep(0.5)
    raise AssertionError(f"{what} never ready at {url}: {running.logs(name)}")


async def test_every_component_runs_from_the_image_and_mail_goes_through(
    image: str, service_env: dict[str, Any], db: Database, smtp: SmtpServer, tmp_path: Path
) -> None:
    chart = chart_containers()
    env = {
        "ENVIRONMENT": "production",
        "SECRET_KEY": "image-test-" + secrets.token_hex(24),
        "MONGODB_URL": str(service_env["mongodb_url"]),
        "MONGODB_DATABASE": str(service_env["mongodb_database"]),
        "AMQP_URL": str(service_env["amqp_url"]),
        "AMQP_PREFIX": str(service_env["amqp_prefix"]),
        "PROVIDER_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PROVIDER_ALLOWED_SMTP_PORTS": "1-65535",
        "LOG_LEVEL": "WARNING",
    }
    ports = {name: free_port() for name in ("gateway", "tracker")}
    management = {
        name: free_port()
        for name in ("gateway", "sender", "tracker", "webhooks", "inbound", "smtp")
    }
    inbound_smtp, submission = free_port(), free_port()
    # the smtp-tls Secret as the pod mounts it: tls.crt and tls.key, readable by uid 10001
    tls_dir = tmp_path / "smtp-tls"
    tls_dir.mkdir()
    cert = self_signed_cert(tls_dir)
    cert.cert_path.rename(tls_dir / "tls.crt")
    cert.key_path.rename(tls_dir / "tls.key")
    for path in (tmp_path, tls_dir, *tls_dir.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    with containers_of(image, env) as running:
        init = running.run(chart["db-init"], detach=False)
        assert init
        names = {
            "gateway": running.run(
                chart["gateway"], detach=True, GATEWAY_PORT=str(ports["gateway"]),
                MANAGEMENT_PORT=str(management["gateway"]), GATEWAY_WORKERS="1",
            ),
            "sender": running.run(
                chart["sender"], detach=True, MANAGEMENT_PORT=str(management["sender"])
            ),
            "tracker": running.run(
                chart["tracker"], detach=True, TRACKER_PORT=str(ports["tracker"]),
                MANAGEMENT_PORT=str(management["tracker"]),
            ),
            "webhooks": running.run(
                chart["webhooks"], detach=True, MANAGEMENT_PORT=str(management["webhooks"])
            ),
            "inbound": running.run(
                chart["inbound"], detach=True, MANAGEMENT_PORT=str(management["inbound"]),
                INBOUND_SMTP_HOST="127.0.0.1", INBOUND_SMTP_PORT=str(inbound_smtp),
                MTA_RETURN_PATH_DOMAIN="bounces.example.com",
            ),
            "smtp": running.run(
                chart["smtp"], detach=True, volumes={"smtp-tls": tls_dir},
                MANAGEMENT_PORT=str(management["smtp"]), SMTP_HOST="127.0.0.1",
                SMTP_SUBMISSION_PORT=str(submission), SMTP_SUBMISSIONS_PORT=str(free_port()),
            ),
        }  # fmt: skip
        for component, name in names.items():
            url = f"http://127.0.0.1:{management[component]}"
            await wait_ready(url, component, running, name)
        tenant = await make_tenant(db, {**service_env, "secret_key": env["SECRET_KEY"]}, "img",
                                   smtp_port=smtp.port)  # fmt: skip
        async with httpx.AsyncClient(timeout=60) as client:
            answer = await client.post(
                f"http://127.0.0.1:{ports['gateway']}/api/v1/mail/send",
                headers=tenant.headers,
                json={"to": "user@example.com", "subject": "From the image", "html": "<p>Hi</p>"},
            )
            assert answer.status_code == 200, answer.text + running.logs(names["gateway"])
            assert answer.json()["data"]["status"] == "sent"
            metrics = await client.get(f"http://127.0.0.1:{management['sender']}/metrics")
            assert "mailpass_sender_deliveries_total" in metrics.text
        (received,) = await smtp.wait_for(1)
        assert received.message["Subject"] == "From the image"
        running.run(chart["scheduler"], detach=False)  # one run, exits 0
        # mailpass-inbound answers SMTP and refuses what it did not sign
        with smtplib.SMTP("127.0.0.1", inbound_smtp, timeout=30) as client:
            assert client.ehlo()[0] == 250
            client.mail("mailer-daemon@example.net")
            code, _ = client.rcpt("nobody@bounces.example.com")
            assert code == 550
        # mailpass-smtp takes a submission with the API key over STARTTLS
        with smtplib.SMTP("127.0.0.1", submission, timeout=30) as client:
            client.starttls(context=ssl._create_unverified_context())
            client.login("mailpass", tenant.key)
            client.sendmail(
                "noreply@acme.example.com",
                ["user@example.com"],
                b"From: noreply@acme.example.com\r\nTo: user@example.com\r\n"
                b"Subject: Submitted to the image\r\n\r\nHello\r\n",
            )
        delivered = await smtp.wait_for(2, timeout=60)
        assert delivered[1].message["Subject"] == "Submitted to the image"


def test_the_image_holds_only_what_runs(image: str) -> None:
    probe = (
        "import importlib.util as u, sys;"
        "dev=[m for m in ('mailpass_dev','pytest','tests','ruff','mypy','nx_27017')"
        " if u.find_spec(m)];"
        "sys.exit(','.join(dev) or None)"
    )
    done = subprocess.run(
        [*PODMAN, "run", "--rm", "--network", "none", "--ulimit", "nofile=1024:20000",
         "--ulimit", "nproc=1024:1024", image, "python", "-c", probe],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, f"dev-only code in the image: {done.stderr.strip()}"
    size = subprocess.run(
        [*PODMAN, "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True, text=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    assert int(size) < 450_000_000, f"the image grew to {int(size) / 1e6:.0f} MB"
