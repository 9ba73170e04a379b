"""A real DNS server for the dev stack and the tests: unbound, answering from records
added and removed while it runs (``unbound-control local_data``).

Every name it is asked about is answered from its own records (a ``static`` local zone on
the root, or on the zones given): a name with no records is NXDOMAIN, a name with records
of another type answers NODATA, as an authoritative server would, and nothing is ever
looked up on the internet. Records are added with TTL 0 by default so a client's cache
never hides a change made by the next test.

Runs as its own process on ``host:port`` (a free port by default), with its configuration,
control socket and pid file in ``directory``; :meth:`DnsServer.stop` ends it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "apt-get install -y unbound (make test installs it when run as root)"


@dataclass(frozen=True)
class Record:
    name: str
    type: str
    value: str
    ttl: int = 0

    def line(self) -> str:
        value = quote_txt(self.value) if self.type.upper() == "TXT" else self.value
        return f"{fqdn(self.name)} {self.ttl} IN {self.type.upper()} {value}"


def fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def quote_txt(value: str) -> str:
    """A TXT value as DNS zone text: already quoted text as it is, else split into quoted
    strings of at most 255 characters (DKIM keys are longer than one string may be)."""
    if value.startswith('"'):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return " ".join(f'"{escaped[i : i + 255]}"' for i in range(0, len(escaped), 255) or [0])


def free_udp_tcp_port(host: str) -> int:
    """A port free for both UDP and TCP on ``host`` (DNS answers on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind((host, 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError(f"no free DNS port on {host}")


class DnsServer:
    """unbound on ``host:port``, its records changed at run time."""

    def __init__(
        self,
        directory: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        zones: Sequence[str] = (".",),
    ) -> None:
        # Absolute: unbound reads a control-interface that does not start with / as a host.
        self.directory = directory.resolve()
        self.host = host
        self.port = port or free_udp_tcp_port(host)
        self.zones = tuple(zones)
        self.config = directory / "unbound.conf"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def nameserver(self) -> str:
        """The server as ``MTA_DNS_NAMESERVERS`` names it."""
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        for program in ("unbound", "unbound-control"):
            if shutil.which(program) is None and not Path("/usr/sbin", program).exists():
                raise RuntimeError(f"{program} is not installed: {INSTALL_HINT}")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self._config_text())
        log = (self.directory / "unbound.log").open("ab")
        self._process = subprocess.Popen(
            [_program("unbound"), "-d", "-c", str(self.config)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"unbound exited at start ({self._process.returncode}): "
                    f"{(self.directory / 'unbound.log').read_text()[-2000:]}"
                )
            if self._control("status", check=False).returncode == 0:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"unbound did not answer within {timeout} s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def add(self, name: str, type: str, value: str, ttl: int = 0) -> None:
        self.add_records([Record(name, type, value, ttl)])

    def add_records(self, records: Iterable[Record]) -> None:
        lines = "\n".join(record.line() for record in records)
        if lines:
            self._control("local_datas", stdin=lines + "\n")

    def remove(self, *names: str) -> None:
        """Every record of each name (any type)."""
        if names:
            self._control("local_datas_remove", stdin="\n".join(map(fqdn, names)) + "\n")

    def _control(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [_program("unbound-control"), "-c", str(self.config), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if check and (done.returncode != 0 or "error" in done.stdout.lower()):
            raise RuntimeError(f"unbound-control {args[0]}: {done.stdout}{done.stderr}".strip())
        return done

    def _config_text(self) -> str:
        zones = "\n".join(f'  local-zone: "{fqdn(zone)}" static' for zone in self.zones)
        return f"""server:
  interface: {self.host}@{self.port}
  port: {self.port}
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "{self.directory}"
  pidfile: "{self.directory / "unbound.pid"}"
  use-syslog: no
  logfile: ""
  verbosity: 0
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  cache-max-ttl: 0
  cache-max-negative-ttl: 0
{zones}
remote-control:
  control-enable: yes
  control-interface: "{self.directory / "control.sock"}"
  control-use-cert: no
"""


def _program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))
