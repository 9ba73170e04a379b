"""What goes wrong during the run, and the evidence kept about each fault.

While the load runs: a sender is killed with SIGKILL every ``kill_every`` seconds (in
turn) and started again, the next kill waiting until the restarted sender is ready (a
sender killed while it starts has nothing to lose, and two starting senders deliver
nothing); the broker is restarted at 40% of the run and MongoDB (an
nx-27017 server this run started) at 70%. With ``--cluster`` the broker fault is one node of
the three killed and brought back (:mod:`mailpass_dev.chaos.cluster`); sender kills wait
while it happens, so that every client connection it cut can be seen back on a survivor.
For every kill the harness keeps what the
sender held (its ``mailpass_sender_in_flight`` gauge read just before) and which of the
tenant's messages had no outcome recorded just after (``sending``, or ``queued`` under a
claim given at acceptance): a message delivered twice must be one a dead sender held,
accepted by the provider before the kill and not recorded (the documented window).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
import pymongo

from mailpass_common.messages.models import MessageStatus
from mailpass_common.platform.db import Collections, Database
from mailpass_dev.chaos.broker import OwnBroker
from mailpass_dev.chaos.cluster import ClusterBroker
from mailpass_dev.stack import Stack

_IN_FLIGHT = re.compile(r"^mailpass_sender_in_flight\s+([0-9.e+]+)", re.MULTILINE)
RESTART_PAUSE_SECONDS = 0.5
AIM_SECONDS = 3.0
SNAPSHOT_SECONDS = 20.0  # below the chaos run's lease (30 s)
NODE_DOWN_SECONDS = 10.0  # a killed cluster node stays down this long under load


@dataclass
class Fault:
    kind: str  # sender_kill | broker_restart | broker_node_kill | mongodb_restart
    target: str
    at: float  # seconds since the run began
    at_unix: float
    seconds_down: float = 0.0  # sender kills: until the new process was ready
    in_flight: int | None = None  # sender kills: what it held
    unrecorded_after: list[str] = field(default_factory=list)  # sender kills
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # broker_node_kill: what it showed

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["unrecorded_after"] = len(self.unrecorded_after)
        return data


class Faults:
    def __init__(
        self,
        stack: Stack,
        broker: OwnBroker | ClusterBroker,
        db: Database,
        account_id: str,
        began: float,
    ) -> None:
        self.stack = stack
        self.broker = broker
        self._one_kill_at_a_time = asyncio.Lock()
        self.db = db
        self.account_id = account_id
        self.began = began  # time.monotonic() when the load started
        self.events: list[Fault] = []

    def _fault(self, kind: str, target: str) -> Fault:
        fault = Fault(kind, target, round(time.monotonic() - self.began, 2), time.time())
        self.events.append(fault)
        return fault

    async def _at(self, offset: float, stop: asyncio.Event) -> bool:
        """Sleep until ``offset`` seconds into the run; False if the run ended first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, self.began + offset - time.monotonic()))
        return not stop.is_set()

    async def run(
        self,
        stop: asyncio.Event,
        *,
        duration: float,
        kill_every: float,
        kills: int | None,
        broker_restarts: int,
        mongo_restarts: int,
    ) -> None:
        tasks = [self._kill_senders(stop, kill_every, kills)]
        for n in range(broker_restarts):
            tasks.append(self._restart_broker(stop, duration * (0.4 + 0.3 * n)))
        for n in range(mongo_restarts):
            tasks.append(self._restart_mongodb(stop, duration * (0.7 + 0.1 * n)))
        await asyncio.gather(*tasks)

    async def _kill_senders(self, stop: asyncio.Event, every: float, most: int | None) -> None:
        senders = sorted(name for name in self.stack.services if name.startswith("sender-"))
        n, last = 0, 0.0
        while (most is None or n < most) and await self._at(last + every, stop):
            await self.kill_sender(senders[n % len(senders)])
            last = time.monotonic() - self.began
            n += 1

    async def kill_sender(self, name: str) -> Fault:
        """SIGKILL the sender, preferably while it holds messages (waiting up to
        ``AIM_SECONDS`` for its in-flight gauge to show some), and start it again."""
        async with self._one_kill_at_a_time:
            return await self._kill_sender(name)

    async def _kill_sender(self, name: str) -> Fault:
        service = self.stack.services[name]
        deadline = time.monotonic() + AIM_SECONDS
        while (in_flight := await _in_flight(service.management_port)) == 0:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        fault = self._fault("sender_kill", name)
        fault.in_flight = in_flight
        service.signal(signal.SIGKILL)
        await asyncio.to_thread(service.wait_stopped, 10)
        # Read again while MongoDB is restarting: what the dead sender held stays without
        # an outcome until its lease runs out, so a later reading is still evidence.
        deadline = time.monotonic() + SNAPSHOT_SECONDS
        while True:
            try:
                fault.unrecorded_after = await self._unrecorded()
                break
            except pymongo.errors.PyMongoError as exc:
                if time.monotonic() > deadline:
                    fault.error = f"unrecorded messages not read: {exc}"
                    break
                await asyncio.sleep(0.5)
        await asyncio.sleep(RESTART_PAUSE_SECONDS)
        service.start()
        if not await _ready(service.management_port):
            fault.error = "not ready again within 120 s"
        fault.seconds_down = round(time.monotonic() - self.began - fault.at, 2)
        return fault

    async def _unrecorded(self) -> list[str]:
        """Messages with no outcome recorded: ``sending`` (a claim taken), or ``queued``
        (a claim given at acceptance, or none yet: the sink tells which were delivered)."""
        unrecorded = [MessageStatus.SENDING.value, MessageStatus.QUEUED.value]
        cursor = self.db[Collections.MESSAGES].find(
            {"account_id": self.account_id, "status": {"$in": unrecorded}},
            projection={"_id": 1},
        )
        return [doc["_id"] async for doc in cursor]

    async def _restart_broker(self, stop: asyncio.Event, offset: float) -> None:
        if not await self._at(offset, stop):
            return
        if isinstance(self.broker, ClusterBroker):
            await self._kill_broker_node(self.broker)
            return
        fault = self._fault("broker_restart", self.broker.node)
        try:
            fault.seconds_down = round(await asyncio.to_thread(self.broker.restart), 2)
        except Exception as exc:
            fault.error = str(exc)
            raise

    async def _kill_broker_node(self, cluster: ClusterBroker) -> None:
        async with self._one_kill_at_a_time:
            fault = self._fault("broker_node_kill", "one of three nodes")
            try:
                fault.detail = await asyncio.to_thread(
                    cluster.kill_node, self.stack.config.amqp_prefix, NODE_DOWN_SECONDS
                )
            except Exception as exc:
                fault.error = str(exc)
                raise
            fault.target = fault.detail["node"]
            fault.seconds_down = fault.detail["seconds_down"]

    async def _restart_mongodb(self, stop: asyncio.Event, offset: float) -> None:
        if not await self._at(offset, stop):
            return
        mongodb = self.stack.mongodb
        if mongodb is None:  # MONGODB_URL: not ours to restart
            return
        fault = self._fault("mongodb_restart", "nx-27017")
        started = time.monotonic()
        await asyncio.to_thread(mongodb.stop)
        mongodb.start()
        await asyncio.to_thread(_wait_for_mongodb, self.stack.mongodb_url)
        fault.seconds_down = round(time.monotonic() - started, 2)


def _wait_for_mongodb(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client: pymongo.MongoClient[dict[str, Any]]
            with pymongo.MongoClient(url, serverSelectionTimeoutMS=1000) as client:
                client.admin.command("ping")
            return
        except pymongo.errors.PyMongoError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def _ready(port: int | None, timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return True
            await asyncio.sleep(0.2)
    return False


async def _in_flight(port: int | None) -> int | None:
    """The sender's ``mailpass_sender_in_flight`` gauge, or None if it did not answer."""
    if port is None:
        return None
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    except httpx.HTTPError:
        return None
    found = _IN_FLIGHT.search(text)
    return int(float(found.group(1))) if found else None
