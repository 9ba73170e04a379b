"""What must hold in every scenario: hardened pods, probes where they belong, consistent
labels and selectors, secrets only from Secrets, and a public surface of two paths."""

from __future__ import annotations

import base64
from typing import Any

from mailpass_common.platform.settings import CommonSettings
from mailpass_gateway.settings import GatewaySettings
from tests.helm.chart import (
    NAMESPACE,
    RELEASE,
    REQUIRED_VALUES,
    Manifest,
    Rendered,
    component_of,
    containers,
    deep_merge,
    pod_template,
    render,
    render_error,
    workloads,
)

SECRET_ENV = {"SECRET_KEY", "SECRET_KEY_PREVIOUS", "MONGODB_URL", "AMQP_URL"}
MANAGEMENT_PORTS = {
    "gateway": 9100,
    "sender": 9101,
    "tracker": 9102,
    "webhooks": 9104,
    "inbound": 9105,
    "smtp": 9106,
}
RUN_AS_USER = 10001  # the image's user (Dockerfile)


def selector_matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def test_every_container_runs_hardened(scenario: Rendered) -> None:
    for workload in workloads(scenario):
        pod = pod_template(workload)["spec"]
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert pod["automountServiceAccountToken"] is False, where
        assert pod["enableServiceLinks"] is False, where
        assert "hostNetwork" not in pod and "hostPID" not in pod, where
        for container in containers(workload):
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["runAsUser"] == RUN_AS_USER, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["privileged"] is False, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where


def test_the_only_writable_place_is_tmp_on_an_emptydir(scenario: Rendered) -> None:
    for workload in workloads(scenario):
        volumes = {v["name"]: v for v in pod_template(workload)["spec"]["volumes"]}
        for container in containers(workload):
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]
            if component_of(workload) == "gateway":
                env = {e["name"]: e.get("value") for e in container["env"]}
                assert "emptyDir" in volumes[mounts[env["PROMETHEUS_MULTIPROC_DIR"]]]


def test_every_container_has_requests_and_a_memory_limit(scenario: Rendered) -> None:
    for workload in workloads(scenario):
        for container in containers(workload):
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), workload["metadata"]["name"]
            assert "memory" in resources["limits"], workload["metadata"]["name"]


def test_services_are_probed_on_their_management_port(scenario: Rendered) -> None:
    for deployment in scenario.of_kind("Deployment"):
        component = component_of(deployment)
        assert component in MANAGEMENT_PORTS
        (container,) = containers(deployment)
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["management"] == MANAGEMENT_PORTS[component]
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["MANAGEMENT_PORT"] == str(MANAGEMENT_PORTS[component])
        expected = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
        for probe, path in {**expected, "startupProbe": "/healthz"}.items():
            assert container[probe]["httpGet"] == {"path": path, "port": "management"}


def test_one_shot_pods_run_to_completion(scenario: Rendered) -> None:
    for workload in scenario.of_kind("CronJob", "Job"):
        pod = pod_template(workload)["spec"]
        assert pod["restartPolicy"] == "Never"
        for container in containers(workload):
            assert not {"readinessProbe", "livenessProbe", "ports"} & set(container)


def test_the_scheduler_cronjob_never_overlaps_and_keeps_little_history(scenario: Rendered) -> None:
    (cronjob,) = scenario.of_kind("CronJob")
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert spec["successfulJobsHistoryLimit"] >= 0 and spec["failedJobsHistoryLimit"] >= 1
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0
    (container,) = containers(cronjob)
    assert [*container["command"], *container["args"]] == ["mailpass-scheduler", "flush"]


def test_the_index_job_is_a_post_install_and_post_upgrade_hook(scenario: Rendered) -> None:
    for job in scenario.of_kind("Job"):
        annotations = job["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
        assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
        (container,) = containers(job)
        assert [*container["command"], *container["args"]] == ["mailpass", "db", "init"]


def test_secrets_reach_pods_only_through_secret_references(scenario: Rendered) -> None:
    secret_names = {s["metadata"]["name"] for s in scenario.of_kind("Secret")}
    existing = scenario.values.get("secrets", {}).get("existingSecret")
    for workload in workloads(scenario):
        for container in containers(workload):
            env = {e["name"]: e for e in container["env"]}
            assert "SECRET_KEY" in env and "MONGODB_URL" in env
            for name in SECRET_ENV & set(env):
                assert "value" not in env[name], name
                reference = env[name]["valueFrom"]["secretKeyRef"]
                assert reference["name"] in secret_names | {existing}
            assert env.get("ENVIRONMENT") is None  # from the ConfigMap
    config = scenario_config(scenario)
    assert config["ENVIRONMENT"] == "production"


def scenario_config(scenario: Rendered) -> dict[str, str]:
    (config,) = [
        c for c in scenario.of_kind("ConfigMap") if c["metadata"]["name"].endswith("-config")
    ]
    data: dict[str, str] = config["data"]
    return data


def test_no_configmap_holds_a_secret(scenario: Rendered) -> None:
    secret_values = {
        base64.b64decode(value).decode()
        for secret in scenario.of_kind("Secret")
        for value in secret["data"].values()
    }
    secret_values |= {
        value
        for key in ("secretKey", "mongodbUrl", "amqpUrl")
        if (value := scenario.values.get("secrets", {}).get(key))
    }
    for config in scenario.of_kind("ConfigMap"):
        assert not SECRET_ENV & set(config["data"]), config["metadata"]["name"]
        text = "\n".join(config["data"].values())
        for value in secret_values:
            for part in value.split(","):
                assert part not in text, f"a secret value is in {config['metadata']['name']}"


def test_provider_networks_are_closed_unless_allowed(scenario: Rendered) -> None:
    allowed = scenario.values.get("config", {}).get("providerAllowedNetworks", [])
    assert scenario_config(scenario)["PROVIDER_ALLOWED_NETWORKS"] == ",".join(allowed)


def test_labels_are_consistent(scenario: Rendered) -> None:
    for obj in scenario.objects:
        labels = obj["metadata"]["labels"]
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        assert labels["app.kubernetes.io/name"] == "mailpass", name
        assert labels["app.kubernetes.io/instance"] == RELEASE, name
        assert labels["app.kubernetes.io/managed-by"] == "Helm", name
        assert labels["app.kubernetes.io/part-of"] == "mailpass", name
        assert labels["helm.sh/chart"].startswith("mailpass-"), name
        component = labels.get("app.kubernetes.io/component")
        if component:
            # mailpass-inbound's management port has a Service of its own (its MX Service
            # is a load balancer on the internet).
            suffixes = (f"-{component}", f"-{component}-management")
            assert obj["metadata"]["name"].endswith(suffixes), name
    for workload in workloads(scenario):
        template_labels = pod_template(workload)["metadata"]["labels"]
        assert template_labels["app.kubernetes.io/component"] == component_of(workload)
        if workload["kind"] == "Deployment":
            selector = workload["spec"]["selector"]["matchLabels"]
            assert selector == {
                "app.kubernetes.io/name": "mailpass",
                "app.kubernetes.io/instance": RELEASE,
                "app.kubernetes.io/component": component_of(workload),
            }
            assert selector_matches(selector, template_labels)


def pods_selected(scenario: Rendered, selector: dict[str, str]) -> list[Manifest]:
    return [
        w
        for w in workloads(scenario)
        if selector_matches(selector, pod_template(w)["metadata"]["labels"])
    ]


def test_every_selector_picks_exactly_its_component(scenario: Rendered) -> None:
    selectors: list[tuple[Manifest, dict[str, str]]] = [
        (s, s["spec"]["selector"]) for s in scenario.of_kind("Service")
    ]
    selectors += [
        (o, o["spec"]["selector"]["matchLabels"]) for o in scenario.of_kind("PodDisruptionBudget")
    ]
    selectors += [
        (o, o["spec"]["podSelector"]["matchLabels"]) for o in scenario.of_kind("NetworkPolicy")
    ]
    for obj, selector in selectors:
        picked = pods_selected(scenario, selector)
        assert [component_of(w) for w in picked] == [component_of(obj)], obj["metadata"]["name"]


def test_scalers_and_monitors_point_at_what_exists(scenario: Rendered) -> None:
    deployments = {d["metadata"]["name"] for d in scenario.of_kind("Deployment")}
    for hpa in scenario.of_kind("HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] in deployments
    for scaled in scenario.of_kind("ScaledObject"):
        assert scaled["spec"]["scaleTargetRef"]["name"] in deployments
    for deployment in scenario.of_kind("Deployment"):
        autoscaled = any(
            o["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
            for o in scenario.of_kind("HorizontalPodAutoscaler", "ScaledObject")
        )
        assert ("replicas" in deployment["spec"]) is not autoscaled
    services = scenario.of_kind("Service")
    for monitor in scenario.of_kind("ServiceMonitor"):
        selected = [
            s
            for s in services
            if selector_matches(monitor["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
        ]
        assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["management"]
        # Exactly one of the component's Services carries the management port.
        with_port = [s for s in selected if "management" in {p["name"] for p in s["spec"]["ports"]}]
        assert len(with_port) == 1, monitor["metadata"]["name"]
        assert monitor["spec"]["namespaceSelector"] == {"matchNames": [NAMESPACE]}


def test_the_ingress_exposes_only_the_api_console_and_tracking_paths(scenario: Rendered) -> None:
    ingresses = scenario.of_kind("Ingress")
    if not scenario.values.get("ingress", {}).get("enabled"):
        assert not ingresses
        return
    (ingress,) = ingresses
    (rule,) = ingress["spec"]["rules"]
    routes = {
        p["path"]: (p["backend"]["service"]["name"], p["backend"]["service"]["port"])
        for p in rule["http"]["paths"]
    }
    expected = {
        "/api": (f"{RELEASE}-gateway", {"name": "http"}),
        "/t": (f"{RELEASE}-tracker", {"name": "http"}),
    }
    if scenario.values["ingress"].get("consolePath", "/console"):  # "" keeps it unrouted
        expected["/console"] = (f"{RELEASE}-gateway", {"name": "http"})
    assert routes == expected
    assert ingress["spec"]["tls"][0]["hosts"] == [rule["host"]]
    services = {s["metadata"]["name"]: s for s in scenario.of_kind("Service")}
    for service_name, _ in routes.values():
        (http,) = [p for p in services[service_name]["spec"]["ports"] if p["name"] == "http"]
        assert http["targetPort"] == "http"  # the public container port, not management


def test_network_policies_admit_only_the_ingress_controller_and_prometheus(
    scenario: Rendered,
) -> None:
    peers = {"ingress": "ingress-nginx", "prometheus": "monitoring"}
    for policy in scenario.of_kind("NetworkPolicy"):
        component = component_of(policy)
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        extra = scenario.values.get(component or "", {}).get("networkPolicy", {})
        rules = policy["spec"].get("ingress", [])
        rules = rules[: len(rules) - len(extra.get("extraIngress", []))]
        if component == "inbound":  # the MX: SMTP from any mail server, nothing else open
            smtp, *rules = rules
            assert smtp == {"ports": [{"port": "smtp", "protocol": "TCP"}]}
        by_port = {
            rule["ports"][0]["port"]: rule["from"][0]["namespaceSelector"]["matchLabels"][
                "kubernetes.io/metadata.name"
            ]
            for rule in rules
            if "namespaceSelector" in rule["from"][0]
        }
        if component in ("gateway", "tracker"):
            assert by_port == {"http": peers["ingress"], "management": peers["prometheus"]}
        elif component in ("sender", "webhooks", "inbound"):
            assert by_port == {"management": peers["prometheus"]}
        elif component == "smtp":
            (clients, monitoring) = rules
            cidrs = scenario.values["smtp"].get("networkPolicy", {}).get("clientCidrs")
            assert [p["ipBlock"]["cidr"] for p in clients["from"]] == (cidrs or ["0.0.0.0/0"])
            assert [p["port"] for p in clients["ports"]] == ["submission", "submissions"]
            assert [p["port"] for p in monitoring["ports"]] == ["management"]
        else:
            assert by_port == {}, component


def test_the_sender_reaches_providers_but_no_private_range(scenario: Rendered) -> None:
    policies = [p for p in scenario.of_kind("NetworkPolicy") if component_of(p) == "sender"]
    if not policies:
        return
    (policy,) = policies
    internet = [
        rule
        for rule in policy["spec"]["egress"]
        if any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for peer in rule.get("to", []))
    ]
    (rule,) = internet
    mx = {25} if scenario.values.get("mta", {}).get("enabled") else set()
    assert {p["port"] for p in rule["ports"]} == {465, 587, 2525, 443} | mx
    (anywhere,) = [p["ipBlock"] for p in rule["to"] if p["ipBlock"]["cidr"] == "0.0.0.0/0"]
    assert set(anywhere["except"]) == {
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
    }
    allowed = scenario.values.get("config", {}).get("providerAllowedNetworks", [])
    assert [p["ipBlock"]["cidr"] for p in rule["to"][1:]] == allowed
    for other in scenario.of_kind("NetworkPolicy"):
        if other is not policy and component_of(other) != "webhooks":
            text = str(other["spec"].get("egress", []))
            assert "0.0.0.0/0" not in text, other["metadata"]["name"]


def test_webhooks_reach_endpoints_over_https_but_no_private_range(scenario: Rendered) -> None:
    policies = [p for p in scenario.of_kind("NetworkPolicy") if component_of(p) == "webhooks"]
    if not policies:
        return
    (policy,) = policies
    (rule,) = [
        rule
        for rule in policy["spec"]["egress"]
        if any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for peer in rule.get("to", []))
    ]
    assert [p["port"] for p in rule["ports"]] == [443]
    assert set(rule["to"][0]["ipBlock"]["except"]) >= {
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "169.254.0.0/16",
        "100.64.0.0/10",
    }


def test_retention_reaches_the_services_settings() -> None:
    values = deep_merge(
        REQUIRED_VALUES,
        {"config": {"messageRetentionDays": 7, "messageMetadataRetentionDays": 30.5}},
    )
    config = scenario_config(render(values))
    assert (config["MESSAGE_RETENTION_DAYS"], config["MESSAGE_METADATA_RETENTION_DAYS"]) == (
        "7",
        "30.5",
    )
    settings = CommonSettings(
        message_retention_days=config["MESSAGE_RETENTION_DAYS"],
        message_metadata_retention_days=config["MESSAGE_METADATA_RETENTION_DAYS"],
        secret_key="x" * 32,
    )
    assert (settings.message_retention_days, settings.message_metadata_retention_days) == (7, 30.5)
    assert "messageRetentionDays" in render_error(
        deep_merge(REQUIRED_VALUES, {"config": {"messageRetentionDays": -1}})
    )


def test_the_gateway_believes_the_ingress_controller_for_client_addresses() -> None:
    def gateway_env(values: dict[str, Any]) -> dict[str, str]:
        rendered = render(deep_merge(REQUIRED_VALUES, values))
        (gateway,) = [w for w in workloads(rendered) if component_of(w) == "gateway"]
        (container,) = containers(gateway)
        return {e["name"]: e.get("value", "") for e in container["env"]}

    assert "FORWARDED_ALLOW_IPS" not in gateway_env({})  # uvicorn's default: loopback only
    proxies = {"config": {"trackerTrustedProxies": ["10.42.0.0/16", "10.43.7.9/32"]}}
    assert gateway_env(proxies)["FORWARDED_ALLOW_IPS"] == "10.42.0.0/16,10.43.7.9/32"


def test_message_size_attachments_and_event_hooks_reach_the_gateway_settings() -> None:
    values = {
        "config": {
            "maxMessageBytes": 26214400,
            "attachmentsAllowExecutables": True,
            "eventHookMaxBytes": 2048,
            "eventHookRatePerSecond": 2.5,
        }
    }
    config = scenario_config(render(deep_merge(REQUIRED_VALUES, values)))
    names = (
        "MAX_MESSAGE_BYTES",
        "ATTACHMENTS_ALLOW_EXECUTABLES",
        "EVENT_HOOK_MAX_BYTES",
        "EVENT_HOOK_RATE_PER_SECOND",
    )
    given: dict[str, Any] = {name.lower(): config[name] for name in names}
    settings = GatewaySettings(secret_key="x" * 32, **given)
    assert settings.max_message_bytes == 26214400 and settings.attachments_allow_executables
    assert (settings.event_hook_max_bytes, settings.event_hook_rate_per_second) == (2048, 2.5)
    defaults = scenario_config(render(REQUIRED_VALUES))
    assert defaults["MAX_MESSAGE_BYTES"] == "10485760"
    assert defaults["ATTACHMENTS_ALLOW_EXECUTABLES"] == "false"
