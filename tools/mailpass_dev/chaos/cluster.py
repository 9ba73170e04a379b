"""A three-node RabbitMQ cluster of the chaos run's own (``--cluster``), and the node kill.

Three :class:`OwnBroker` nodes (``chaos-<port>@localhost``, each with its own ports, data
and logs, the machine's broker untouched) share one Erlang cookie; the second and third
join the first (``rabbitmqctl join_cluster``) before the stack starts, so every quorum
queue the stack declares has a replica on each node (RabbitMQ's default initial group
size: every node, up to its ``quorum_cluster_size`` of 3; the topology sets none). The
stack gets ``AMQP_URL`` naming the three nodes, so each process starts at a random one.

:meth:`ClusterBroker.kill_node`, under load: SIGKILL the leader of the batch work queue if
client connections are open on it (else the node holding the most), so that a leader
election and the clients' failover both happen; wait until every connection that was
on it is open again on a survivor (the clients' failover, timed by asking a survivor every
second or so: an upper bound), keep it down a while, start it again on the same data
(it rejoins by itself) and wait until every queue has all its replicas online.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mailpass_dev.chaos.broker import OwnBroker
from mailpass_dev.processes import StackError

SIZE = 3
RECONNECT_TIMEOUT_SECONDS = 60.0
REPLICAS_TIMEOUT_SECONDS = 90.0


class ClusterBroker:
    def __init__(self, size: int = SIZE) -> None:
        cookie = secrets.token_hex(20)
        self.nodes: list[OwnBroker] = []
        while len(self.nodes) < size:
            node = OwnBroker(cookie=cookie)
            if any(node.port == other.port for other in self.nodes):
                node.close()
                continue
            self.nodes.append(node)

    @property
    def node(self) -> str:
        return ", ".join(n.node for n in self.nodes)

    @property
    def url(self) -> str:
        """``AMQP_URL`` naming every node, the format services read (``amqp_nodes``)."""
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)
        return f"amqp://guest:guest@{hosts}/"

    def start(self) -> None:
        """Start the nodes side by side, join the others to the first, check all run."""
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(OwnBroker.start, self.nodes))
            list(pool.map(self._join, self.nodes[1:]))
        running = self._json(self.nodes[0], "cluster_status").get("running_nodes", [])
        if sorted(running) != sorted(n.node for n in self.nodes):
            raise StackError(f"the chaos cluster did not form: running {running}")

    def _join(self, node: OwnBroker) -> None:
        for args in (("stop_app",), ("join_cluster", self.nodes[0].node), ("start_app",)):
            done = node.ctl(*args, timeout=120)
            if done.returncode != 0:
                raise StackError(f"{node.node} {args[0]}: {done.stderr.strip()[:300]}")

    def close(self) -> None:
        """Kill and remove every node (its data is the run's only): quicker than stopping."""
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(OwnBroker.kill, self.nodes))
            list(pool.map(OwnBroker.close, self.nodes))

    def _json(self, node: OwnBroker, *args: str) -> Any:
        done = node.ctl(*args, "--formatter", "json", timeout=60)
        if done.returncode != 0:
            raise StackError(f"rabbitmqctl {args[0]} on {node.node}: {done.stderr.strip()[:300]}")
        return json.loads(done.stdout or "null")

    def queues(self, prefix: str, ask: OwnBroker | None = None) -> list[dict[str, Any]]:
        """The quorum queues under ``prefix``: name, leader, members, online members."""
        rows = self._json(
            ask or self.nodes[0], "list_queues", "name", "type", "leader", "members", "online"
        )
        return [
            {k: row[k] for k in ("name", "leader", "members", "online")}
            for row in rows
            if row["name"].startswith(f"{prefix}.") and row["type"] == "quorum"
        ]

    def connections(self, ask: OwnBroker) -> dict[str, Counter[str]]:
        """Client connections by node, counted by connection name (one per process)."""
        by_port = {n.port: n.node for n in self.nodes}
        found: dict[str, Counter[str]] = {n.node: Counter() for n in self.nodes}
        for row in self._json(ask, "list_connections", "port", "client_properties"):
            properties = {key: value for key, _, value in row["client_properties"]}
            name = str(properties.get("connection_name", "unnamed"))
            found[by_port.get(row["port"], "other")][name] += 1
        return found

    def kill_node(self, prefix: str, down_seconds: float) -> dict[str, Any]:
        """Kill one node under load and bring it back; what happened, for the report."""
        queues = self.queues(prefix)
        before = self.connections(self.nodes[0])
        leader = next((q["leader"] for q in queues if q["name"].endswith(".send.batch")), "")
        victim = max(
            self.nodes,
            key=lambda n: (bool(before[n.node]), n.node == leader, sum(before[n.node].values())),
        )
        survivor = next(n for n in self.nodes if n is not victim)
        moving = before[victim.node]
        killed = time.monotonic()
        victim.kill()
        reconnect = self._wait_reconnected(before, victim, survivor, killed)
        time.sleep(max(0.0, killed + down_seconds - time.monotonic()))
        victim.start()
        down = time.monotonic() - killed
        replicas_back = self._wait_replicas_online(prefix, survivor)
        after = self.queues(prefix, survivor)
        return {
            "node": victim.node,
            "led": sorted(q["name"] for q in queues if q["leader"] == victim.node),
            "connections_on_it": sum(moving.values()),
            "connections_in_all": sum(sum(c.values()) for c in before.values()),
            "clients_moved": sorted(moving.elements()),
            "reconnected_seconds": reconnect,
            "seconds_down": round(down, 2),
            "replicas_online_seconds_after_restart": replicas_back,
            "queues_before": queues,
            "queues_after": after,
        }

    def _wait_reconnected(
        self,
        before: dict[str, Counter[str]],
        victim: OwnBroker,
        survivor: OwnBroker,
        killed: float,
    ) -> float | None:
        """Seconds until every connection on ``victim`` is open again on a survivor."""
        wanted: Counter[str] = Counter()
        for counts in before.values():
            wanted.update(counts)
        wanted = Counter({name: wanted[name] for name in before[victim.node]})
        while time.monotonic() - killed < RECONNECT_TIMEOUT_SECONDS:
            now = self.connections(survivor)
            on_survivors: Counter[str] = Counter()
            for node, counts in now.items():
                if node != victim.node:
                    on_survivors.update(counts)
            if all(on_survivors[name] >= n for name, n in wanted.items()):
                return round(time.monotonic() - killed, 2)
            time.sleep(0.2)
        return None

    def _wait_replicas_online(self, prefix: str, ask: OwnBroker) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < REPLICAS_TIMEOUT_SECONDS:
            queues = self.queues(prefix, ask)
            if all(len(q["online"]) == len(q["members"]) == SIZE for q in queues):
                return round(time.monotonic() - started, 2)
            time.sleep(1.0)
        return None


def replicated(report: dict[str, Any]) -> bool:
    """Every queue had a replica on each node before the kill and all online after."""
    before, after = report.get("queues_before") or [], report.get("queues_after") or []
    return (
        bool(before)
        and all(len(q["members"]) == SIZE for q in before)
        and all(len(q["online"]) == len(q["members"]) == SIZE for q in after)
    )
