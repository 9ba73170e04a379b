"""The chaos cluster hands the stack an ``AMQP_URL`` the services read as its three nodes,
and its replication check fails on a queue short of a replica or one left offline."""

from __future__ import annotations

from mailpass_common.platform.amqp_nodes import node_urls
from mailpass_dev.chaos.cluster import ClusterBroker, replicated


def test_the_cluster_url_names_every_node_for_the_services() -> None:
    cluster = ClusterBroker()  # nothing started: ports picked, directories made
    try:
        ports = [node.port for node in cluster.nodes]
        assert len(set(ports)) == 3
        assert node_urls(cluster.url) == [f"amqp://guest:guest@127.0.0.1:{p}/" for p in ports]
    finally:
        cluster.close()
    assert not any(node.dir.exists() for node in cluster.nodes)


def test_replication_needs_three_replicas_before_and_all_online_after() -> None:
    three = ["a@localhost", "b@localhost", "c@localhost"]
    queue = {"name": "p.send.batch", "leader": three[0], "members": three, "online": three}
    degraded = queue | {"online": three[:2]}
    short = queue | {"members": three[:2], "online": three[:2]}
    assert replicated({"queues_before": [queue], "queues_after": [queue]})
    assert not replicated({"queues_before": [queue], "queues_after": [degraded]})
    assert not replicated({"queues_before": [short], "queues_after": [queue]})
    assert not replicated({"queues_before": [], "queues_after": []})
