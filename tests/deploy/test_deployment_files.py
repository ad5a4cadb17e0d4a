"""Offline checks of the deployment files: compose, nginx, PostgreSQL init, Keycloak realm,
Prometheus, Grafana, Kubernetes manifests and the Dockerfile.

Nothing here needs Docker, a cluster or the network. The compose file is validated against the
compose-spec JSON schema vendored in check-jsonschema; the rest is checked with PyYAML / json
against the contract the services implement (one image, `/<service>/...` paths, one database per
service, the `roles` / `municipalities` token claims, the Prometheus metric names).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S = DEPLOY / "k8s"
NGINX_CONF = DEPLOY / "nginx" / "nginx.conf"
INIT_SQL = DEPLOY / "postgres" / "init-databases.sql"
REALM_FILE = DEPLOY / "keycloak" / "oslonac-realm.json"
PROMETHEUS_FILE = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD_FILE = DEPLOY / "grafana" / "dashboards" / "oslonac.json"
DATASOURCES_FILE = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARD_PROVIDER_FILE = DEPLOY / "grafana" / "provisioning" / "dashboards" / "oslonac.yml"

SERVICES = ("intake", "cases", "activation", "reporting")
CONSUMERS = ("cases", "activation", "reporting")
ROLES = {"case_worker", "supervisor", "employer", "coordinator", "analyst", "admin"}
PARTITIONS_PER_TOPIC = 6
METRICS = (
    "http_request_duration_seconds",
    "oslonac_handler_duration_seconds",
    "oslonac_consumer_lag",
    "oslonac_outbox_backlog",
    "oslonac_dlq_messages_total",
)
ALLOWED_HOST_PORTS = {"proxy": "8000", "grafana": "3000", "prometheus": "9090"}
ASYNCPG_URL = re.compile(r"^postgresql\+asyncpg://[^@/]+@postgres:5432/(?P<db>\w+)$")
ANY_PG_URL = re.compile(r"postgres(?:ql)?(?:\+\w+)?://[^\s\"']*?/(?P<db>\w+)\b")


# --- loading helpers ---------------------------------------------------------------------------


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def compose_service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no service {name!r}"
    service = services[name]
    assert isinstance(service, dict)
    return service


def compose_env(name: str) -> dict[str, str]:
    env = compose_service(name).get("environment", {})
    if isinstance(env, list):  # the KEY=VALUE list form
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


@cache
def realm() -> dict[str, Any]:
    data = json.loads(REALM_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@cache
def k8s_documents() -> tuple[tuple[str, dict[str, Any]], ...]:
    """(file name, document) for every non-empty document of every manifest in deploy/k8s."""
    docs = []
    for path in sorted(K8S.glob("*.y*ml")):
        if path.name.startswith("kustomization."):
            continue
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                docs.append((path.name, doc))
    return tuple(docs)


def k8s_objects(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in k8s_documents() if doc.get("kind") == kind}


def nginx_conf() -> str:
    """nginx.conf without comments."""
    lines = NGINX_CONF.read_text(encoding="utf-8").splitlines()
    return "\n".join(line.split("#", 1)[0] for line in lines)


def nginx_block(text: str, header: str) -> str | None:
    """Body of the first `<header> { ... }` block (header is a regex), braces balanced."""
    match = re.search(header + r"\s*\{", text)
    if match is None:
        return None
    depth, start = 1, match.end()
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[start:index]
    raise AssertionError(f"unbalanced braces after {header!r} in nginx.conf")


def check_jsonschema(instance: Path, schema: str = "vendor.compose-spec") -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "check-jsonschema"
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "check_jsonschema"]
    return subprocess.run(
        [*command, "--builtin-schema", schema, str(instance)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- (a) compose against the compose-spec schema -------------------------------------------------


def test_compose_file_validates_against_compose_spec() -> None:
    result = check_jsonschema(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def _unknown_service_key(doc: dict[str, Any]) -> None:
    doc["services"]["intake"]["imagee"] = "oslonac:0.1.0"


def _healthcheck_interval_not_a_duration_string(doc: dict[str, Any]) -> None:
    doc["services"]["cases"]["healthcheck"]["interval"] = 10


def _unknown_depends_on_condition(doc: dict[str, Any]) -> None:
    doc["services"]["reporting"]["depends_on"]["topics"]["condition"] = "service_done"


def _ports_as_a_mapping(doc: dict[str, Any]) -> None:
    doc["services"]["proxy"]["ports"] = {"8000": "8000"}


@pytest.mark.parametrize(
    ("mutate", "valid"),
    [
        (None, True),
        (_unknown_service_key, False),
        (_healthcheck_interval_not_a_duration_string, False),
        (_unknown_depends_on_condition, False),
        (_ports_as_a_mapping, False),
    ],
    ids=["unchanged", "unknown-service-key", "healthcheck-interval", "depends-on-condition", "ports-mapping"],
)
def test_compose_schema_check_rejects_invalid_files(tmp_path: Path, mutate: Any, valid: bool) -> None:
    """The validator really validates: the same file, broken in one place, fails."""
    doc = json.loads(json.dumps(compose()))  # deep copy, anchors already merged
    if mutate is not None:
        mutate(doc)
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = check_jsonschema(broken)
    assert (result.returncode == 0) is valid, result.stdout + result.stderr


# --- (b) compose: the four services, databases, proxy ---------------------------------------------


def test_services_share_one_image_built_once_from_the_root_dockerfile() -> None:
    app = [*SERVICES, "topics"]
    images = {compose_service(name).get("image") for name in app}
    assert len(images) == 1 and None not in images, f"one image for all: {images}"
    builds = [compose_service(name)["build"] for name in app if "build" in compose_service(name)]
    assert builds, "one of the services must build the image"
    for build in builds:
        context = build["context"] if isinstance(build, dict) else build
        dockerfile = build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
        assert (ROOT / context).resolve() == ROOT
        assert (ROOT / context / dockerfile).is_file()
    for name in app:
        if "build" not in compose_service(name):
            assert compose_service(name).get("pull_policy") == "never", f"{name} must not pull the app image"


@pytest.mark.parametrize("service", SERVICES)
def test_service_runs_its_own_command(service: str) -> None:
    assert compose_service(service)["command"] == [
        "oslonac",
        "serve",
        service,
        "--host",
        "0.0.0.0",  # noqa: S104 - inside the container
        "--port",
        "8000",
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_service_has_a_python_healthcheck_on_its_ready_path(service: str) -> None:
    test = compose_service(service)["healthcheck"]["test"]
    command = " ".join(test) if isinstance(test, list) else test
    assert test[0] in {"CMD", "CMD-SHELL"} and "python" in command
    assert "curl" not in command and "wget" not in command, "slim images have neither"
    assert f"http://127.0.0.1:8000/{service}/health/ready" in command


@pytest.mark.parametrize("service", SERVICES)
def test_service_database_url_points_at_its_own_database(service: str) -> None:
    url = compose_env(service)["OSLONAC_DATABASE_URL"]
    match = ASYNCPG_URL.match(url)
    assert match, url
    assert match["db"] == service


@pytest.mark.parametrize("service", SERVICES)
def test_service_environment_contract(service: str) -> None:
    env = compose_env(service)
    assert env["OSLONAC_ENV"] == "production"
    assert env["OSLONAC_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env["OSLONAC_KAFKA_ENABLE_IDEMPOTENCE"] == "true"
    assert env["OSLONAC_LOG_FORMAT"] == "json"
    assert env["OSLONAC_MIGRATE_ON_START"] == "true"
    assert env["OSLONAC_JWKS_URL"].startswith("http://keycloak:8080/")
    assert env["OSLONAC_OIDC_ISSUER"] and env["OSLONAC_OIDC_CLIENT_ID"]
    assert env["OSLONAC_OIDC_INTERNAL_URL"].startswith("http://keycloak:8080/")
    assert "OSLONAC_AUTH_TOKEN_URL" not in env  # no password grant any more


@pytest.mark.parametrize("service", SERVICES)
def test_service_starts_after_its_dependencies(service: str) -> None:
    depends_on = compose_service(service)["depends_on"]
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["kafka"]["condition"] == "service_healthy"
    assert depends_on["topics"]["condition"] == "service_completed_successfully"


def test_topics_is_a_one_shot_init_service() -> None:
    topics = compose_service("topics")
    assert topics["command"] == ["oslonac", "topics"]
    assert topics.get("restart", "no") == "no"
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert compose_env("topics")["OSLONAC_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_depends_on_names_existing_services_with_known_conditions() -> None:
    services = compose()["services"]
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        targets = depends_on if isinstance(depends_on, list) else list(depends_on)
        for target in targets:
            assert target in services, f"{name} depends on unknown service {target}"
            if isinstance(depends_on, dict):
                assert depends_on[target].get("condition", "service_started") in conditions
                if depends_on[target].get("condition") == "service_healthy":
                    assert "healthcheck" in services[target], f"{target} has no healthcheck"


def _create_database_names(sql: str) -> set[str]:
    sql = re.sub(r"--[^\n]*", "", sql)
    return {name.lower() for name in re.findall(r'(?i)\bCREATE\s+DATABASE\s+"?(\w+)"?', sql)}


def test_every_database_named_in_compose_is_created_by_the_init_sql() -> None:
    created = _create_database_names(INIT_SQL.read_text(encoding="utf-8"))
    named: set[str] = set()
    for name in compose()["services"]:
        for value in compose_env(name).values():
            named.update(match["db"].lower() for match in ANY_PG_URL.finditer(value))
    assert set(SERVICES) <= named
    assert named <= created, f"not created by {INIT_SQL.name}: {named - created}"
    # ... and the script is actually run by the postgres image.
    mounts = compose_service("postgres")["volumes"]
    assert any(str(m).startswith("./deploy/postgres/init-databases.sql:/docker-entrypoint-initdb.d/") for m in mounts)


def test_only_proxy_grafana_and_prometheus_publish_ports_on_localhost() -> None:
    for name, service in compose()["services"].items():
        ports = service.get("ports", [])
        if name not in ALLOWED_HOST_PORTS:
            assert not ports, f"{name} must not publish ports"
            continue
        assert ports == [f"127.0.0.1:{ALLOWED_HOST_PORTS[name]}:{ALLOWED_HOST_PORTS[name]}"], ports


def test_mounts_exist_and_named_volumes_are_declared() -> None:
    declared = set(compose().get("volumes") or {})
    for name, service in compose()["services"].items():
        for mount in service.get("volumes", []):
            source = str(mount).split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in declared, f"{name} uses undeclared volume {source}"
    assert {"kafka-data", "postgres-data"} <= declared


def test_kafka_is_one_kraft_broker_with_an_internal_listener() -> None:
    kafka = compose_service("kafka")
    env = compose_env("kafka")
    assert str(kafka["image"]).startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert "healthcheck" in kafka


@pytest.mark.parametrize("service", SERVICES)
def test_nginx_routes_the_service_prefix_to_the_service(service: str) -> None:
    conf = nginx_conf()
    upstream = nginx_block(conf, rf"upstream\s+{service}")
    assert upstream is not None and re.search(rf"\bserver\s+{service}:8000\b", upstream)
    location = nginx_block(conf, rf"location\s+/{service}/")
    assert location is not None, f"nginx.conf has no location /{service}/"
    # No URI after the upstream: the path reaches the service unchanged (it serves /<service>/...).
    assert re.search(rf"\bproxy_pass\s+http://{service}\s*;", location), location


def test_nginx_streams_server_sent_events_from_reporting() -> None:
    location = nginx_block(nginx_conf(), r"location\s+/reporting/")
    assert location is not None
    assert re.search(r"\bproxy_buffering\s+off\s*;", location)


def test_nginx_routes_auth_to_keycloak_and_listens_on_8000() -> None:
    conf = nginx_conf()
    location = nginx_block(conf, r"location\s+/auth/")
    assert location is not None and re.search(r"\bproxy_pass\s+http://keycloak(:8080)?/\s*;", location)
    assert re.search(r"\blisten\s+8000\s*;", conf)
    assert any(str(m).startswith("./deploy/nginx/nginx.conf:/etc/nginx/") for m in compose_service("proxy")["volumes"])


def _interpolated(value: str) -> str:
    """A compose value with ``${VAR:-default}`` taking its default and ``${VAR:?error}`` (required from .env)
    a 44-character stand-in, as `docker compose` would once .env holds it."""
    value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{\w+:\?[^}]*\}", "x" * 44, value)


@pytest.mark.parametrize("service", SERVICES)
def test_compose_gives_each_service_every_setting_production_demands(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The services' own production validators (shared.settings) accept compose's environment: a secret a
    validator demands and compose does not give would stop the container at start-up."""
    from shared.settings import Environment, Settings

    for name in [n for n in os.environ if n.startswith("OSLONAC_")]:
        monkeypatch.delenv(name)
    for name, value in compose_env(service).items():
        monkeypatch.setenv(name, _interpolated(value))
    settings = Settings(service=service)
    assert settings.env is Environment.production
    assert settings.resolved_database_url().startswith("postgresql+asyncpg://")


def test_issuer_audience_and_jwks_agree_with_keycloak() -> None:
    keycloak = compose_env("keycloak")
    name = realm()["realm"]
    for service in SERVICES:
        env = compose_env(service)
        assert env["OSLONAC_OIDC_ISSUER"] == f"{keycloak['KC_HOSTNAME']}/realms/{name}"
        assert env["OSLONAC_OIDC_INTERNAL_URL"] == f"http://keycloak:8080/realms/{name}"
        assert env["OSLONAC_JWKS_URL"] == f"http://keycloak:8080/realms/{name}/protocol/openid-connect/certs"
        assert env["OSLONAC_JWT_AUDIENCE"] in _realm_audiences()
    public_origin = re.match(r"^https?://[^/]+", keycloak["KC_HOSTNAME"])
    assert public_origin is not None
    for client in realm()["clients"]:
        for uri in client.get("redirectUris", []):
            assert uri.startswith(public_origin[0])
    command = compose_service("keycloak")["command"]
    assert "start-dev" in command and "--import-realm" in command


# --- (c) Kubernetes ---------------------------------------------------------------------------------


def test_every_k8s_document_has_api_version_kind_and_name() -> None:
    assert k8s_documents()
    for file_name, doc in k8s_documents():
        assert isinstance(doc, dict), file_name
        assert doc.get("apiVersion"), file_name
        assert doc.get("kind"), file_name
        assert (doc.get("metadata") or {}).get("name"), f"{file_name}: {doc.get('kind')} without a name"


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), "duplicate resources"
    manifests = {p.name for p in K8S.glob("*.y*ml") if not p.name.startswith("kustomization.")}
    assert set(listed) == manifests


@pytest.mark.parametrize("service", SERVICES)
def test_k8s_deployment_and_service(service: str) -> None:
    deployment = k8s_objects("Deployment")[service]
    spec = deployment["spec"]
    pod_labels = spec["template"]["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    replicas = spec.get("replicas", 1)
    assert 1 <= replicas <= PARTITIONS_PER_TOPIC
    if service in CONSUMERS:
        assert replicas == 2

    (container,) = spec["template"]["spec"]["containers"]
    assert container["command"] == ["oslonac", "serve", service, "--host", "0.0.0.0", "--port", "8000"]  # noqa: S104
    assert container["readinessProbe"]["httpGet"]["path"] == f"/{service}/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == f"/{service}/health/live"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports["http"] == 8000

    config_maps = k8s_objects("ConfigMap")
    for source in container["envFrom"]:
        assert source["configMapRef"]["name"] in config_maps
    env = {item["name"]: item for item in container["env"]}
    ref = env["OSLONAC_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    secret = k8s_objects("Secret")[ref["name"]]
    url = {**secret.get("stringData", {}), **secret.get("data", {})}[ref["key"]]
    assert url.rsplit("/", 1)[1] == service, f"{service} must use its own database: {url}"

    k8s_service = k8s_objects("Service")[service]
    assert k8s_service["spec"]["selector"].items() <= pod_labels.items()
    assert any(p["port"] == 8000 and p.get("name") == "http" for p in k8s_service["spec"]["ports"])


def test_k8s_consumer_scaling_is_documented() -> None:
    for service in CONSUMERS:
        text = (K8S / f"{service}.yaml").read_text(encoding="utf-8")
        assert "partition count" in text and str(PARTITIONS_PER_TOPIC) in text


def test_k8s_config_map_carries_the_settings() -> None:
    data = k8s_objects("ConfigMap")["oslonac-config"]["data"]
    for key in (
        "OSLONAC_ENV",
        "OSLONAC_KAFKA_BOOTSTRAP_SERVERS",
        "OSLONAC_KAFKA_ENABLE_IDEMPOTENCE",
        "OSLONAC_JWKS_URL",
        "OSLONAC_OIDC_ISSUER",
        "OSLONAC_OIDC_INTERNAL_URL",
        "OSLONAC_LOG_FORMAT",
    ):
        assert data.get(key), key
    assert data["OSLONAC_ENV"] == "production"
    assert all(isinstance(value, str) for value in data.values()), "ConfigMap values must be strings"


def test_k8s_ingress_routes_every_prefix_to_its_service() -> None:
    services = k8s_objects("Service")
    routes: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, ingress in k8s_objects("Ingress").items():
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                routes[path["path"]] = (name, path)
    for service in SERVICES:
        _, path = routes[f"/{service}/"]
        assert path["pathType"] == "Prefix"
        backend = path["backend"]["service"]
        assert backend["name"] == service and backend["name"] in services
        assert backend["port"] in ({"name": "http"}, {"number": 8000})
    reporting_ingress = k8s_objects("Ingress")[routes["/reporting/"][0]]
    assert reporting_ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"


def test_k8s_topics_job() -> None:
    jobs = list(k8s_objects("Job").values())
    assert len(jobs) == 1
    (container,) = jobs[0]["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["oslonac", "topics"]
    assert jobs[0]["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}


def test_k8s_pods_run_as_non_root() -> None:
    for kind in ("Deployment", "Job"):
        for name, obj in k8s_objects(kind).items():
            pod = obj["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            for container in pod["containers"]:
                assert container["securityContext"]["allowPrivilegeEscalation"] is False, name


def test_kustomize_renders_the_manifests() -> None:
    """Only when kustomize or kubectl is installed; both render offline."""
    if shutil.which("kustomize"):
        command = ["kustomize", "build", str(K8S)]
    elif shutil.which("kubectl"):
        command = ["kubectl", "kustomize", str(K8S)]
    else:
        pytest.skip("neither kustomize nor kubectl is installed")
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    kinds = [doc["kind"] for doc in rendered]
    assert kinds.count("Deployment") == len(SERVICES)
    namespaced = [doc for doc in rendered if doc["kind"] != "Namespace"]
    assert {doc["metadata"].get("namespace") for doc in namespaced} == {"oslonac"}


# --- (d) Prometheus and Grafana ---------------------------------------------------------------------


def test_prometheus_scrapes_the_four_metrics_paths() -> None:
    config = yaml.safe_load(PROMETHEUS_FILE.read_text(encoding="utf-8"))
    scraped: dict[str, set[str]] = {}
    for job in config["scrape_configs"]:
        path = job.get("metrics_path", "/metrics")
        for static in job.get("static_configs", []):
            scraped.setdefault(path, set()).update(static["targets"])
    for service in SERVICES:
        assert scraped.get(f"/{service}/metrics") == {f"{service}:8000"}, scraped
    assert any(
        str(m).startswith("./deploy/prometheus/prometheus.yml:") for m in compose_service("prometheus")["volumes"]
    )


def _dashboard_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for panel in panels:
        found.append(panel)
        found.extend(_dashboard_panels(panel.get("panels", [])))
    return found


def test_grafana_dashboard_uses_the_provisioned_datasource_and_every_metric() -> None:
    dashboard = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    datasources = yaml.safe_load(DATASOURCES_FILE.read_text(encoding="utf-8"))["datasources"]
    uids = {ds["uid"] for ds in datasources if ds["type"] == "prometheus"}
    panels = [p for p in _dashboard_panels(dashboard["panels"]) if p.get("type") != "row"]
    assert panels
    expressions = []
    for panel in panels:
        assert panel["datasource"]["uid"] in uids, panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"])["uid"] in uids
            expressions.append(target["expr"])
    text = "\n".join(expressions)
    for metric in METRICS:
        assert metric in text, f"no panel uses {metric}"
    assert re.search(r"histogram_quantile\(0\.95,[^\n]*http_request_duration_seconds_bucket", text)


def test_grafana_provisioning_points_at_the_mounted_dashboards() -> None:
    provider = yaml.safe_load(DASHBOARD_PROVIDER_FILE.read_text(encoding="utf-8"))["providers"][0]
    mounts = {
        str(m).split(":")[0]: str(m).split(":")[1] for m in compose_service("grafana")["volumes"] if ":" in str(m)
    }
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"


# --- (e) Keycloak realm -------------------------------------------------------------------------------


def _realm_mappers() -> list[dict[str, Any]]:
    mappers = []
    for client in realm().get("clients", []):
        mappers.extend(client.get("protocolMappers", []))
    for scope in realm().get("clientScopes", []):
        mappers.extend(scope.get("protocolMappers", []))
    return mappers


def _realm_audiences() -> set[str]:
    return {
        m["config"].get("included.custom.audience") or m["config"].get("included.client.audience")
        for m in _realm_mappers()
        if m["protocolMapper"] == "oidc-audience-mapper"
    }


def test_realm_defines_the_five_roles() -> None:
    assert realm()["realm"] == "oslonac"
    names = {role["name"] for role in realm()["roles"]["realm"]}
    assert names >= ROLES


def test_realm_maps_roles_and_municipalities_into_top_level_claims() -> None:
    by_claim = {m["config"].get("claim.name"): m for m in _realm_mappers()}
    roles = by_claim["roles"]
    assert roles["protocolMapper"] == "oidc-usermodel-realm-role-mapper"
    assert roles["config"]["multivalued"] == "true"
    assert roles["config"]["access.token.claim"] == "true"
    municipalities = by_claim["municipalities"]
    assert municipalities["protocolMapper"] == "oidc-usermodel-attribute-mapper"
    assert municipalities["config"]["user.attribute"] == "municipalities"
    assert municipalities["config"]["multivalued"] == "true"
    assert municipalities["config"]["access.token.claim"] == "true"
    # Optional, single-valued: the employer's organisation (shared.auth.User.organisation).
    organisation = by_claim["organisation"]
    assert organisation["config"]["user.attribute"] == "organisation"
    assert organisation["config"]["multivalued"] == "false"


def test_realm_limits_the_roles_claim_to_the_oslonac_roles() -> None:
    for client in realm()["clients"]:
        assert client["fullScopeAllowed"] is False
        scoped = {
            role
            for mapping in realm().get("scopeMappings", [])
            if mapping.get("client") == client["clientId"]
            for role in mapping["roles"]
        }
        assert scoped == ROLES


def test_realm_user_profile_declares_municipalities_editable_by_admins_only() -> None:
    (component,) = realm()["components"]["org.keycloak.userprofile.UserProfileProvider"]
    (profile_json,) = component["config"]["kc.user.profile.config"]
    attributes = {a["name"]: a for a in json.loads(profile_json)["attributes"]}
    municipalities = attributes["municipalities"]
    assert municipalities["multivalued"] is True
    assert municipalities["permissions"]["edit"] == ["admin"]
    assert re.fullmatch(municipalities["validations"]["pattern"]["pattern"], "80012")
    assert not re.fullmatch(municipalities["validations"]["pattern"]["pattern"], "8001")


def test_realm_users_have_only_temporary_passwords_and_known_roles() -> None:
    for user in realm().get("users", []):
        assert set(user.get("realmRoles", [])) <= ROLES, user["username"]
        for credential in user.get("credentials", []):
            assert credential.get("temporary") is True, f"{user['username']}: password must be temporary"
        for code in user.get("attributes", {}).get("municipalities", []):
            assert re.fullmatch(r"\d{5}", code), code


def _realm_client(client_id: str) -> dict[str, Any]:
    (client,) = [c for c in realm()["clients"] if c["clientId"] == client_id]
    return client


def test_realm_client_is_public_with_pkce_and_no_password_grant() -> None:
    client = _realm_client("oslonac-web")
    assert client["publicClient"] is True
    assert client["standardFlowEnabled"] is True
    assert client["attributes"]["pkce.code.challenge.method"] == "S256"
    assert client["directAccessGrantsEnabled"] is False
    assert client["implicitFlowEnabled"] is False


def test_realm_web_client_redirects_only_to_the_services_callbacks_and_signed_out_pages() -> None:
    client = _realm_client("oslonac-web")
    origin = client["rootUrl"]
    assert sorted(client["redirectUris"]) == sorted(f"{origin}/{s}/auth/callback" for s in SERVICES)
    post_logout = client["attributes"]["post.logout.redirect.uris"].split("##")
    assert sorted(post_logout) == sorted(f"{origin}/{s}/signed-out" for s in SERVICES)


def test_realm_api_client_is_a_confidential_service_account_with_the_same_claims() -> None:
    client = _realm_client("oslonac-api")
    assert client["publicClient"] is False and client["serviceAccountsEnabled"] is True
    assert not client["standardFlowEnabled"] and not client["directAccessGrantsEnabled"]
    assert "secret" not in client, "Keycloak generates the secret at import; none is kept in the repository"
    claims = {m["config"].get("claim.name") for m in client["protocolMappers"]}
    assert {"roles", "municipalities", "organisation"} <= claims
    audiences = {m["config"].get("included.custom.audience") for m in client["protocolMappers"]}
    assert compose_env("intake")["OSLONAC_JWT_AUDIENCE"] in audiences
    (account,) = [u for u in realm()["users"] if u.get("serviceAccountClientId") == "oslonac-api"]
    assert account["realmRoles"] and set(account["realmRoles"]) <= ROLES


# --- Dockerfile ----------------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_builds_a_non_root_python_311_slim_image_with_pip_install() -> None:
    instructions = _dockerfile_instructions()
    args = dict(rest.split("=", 1) for keyword, rest in instructions if keyword == "ARG" and "=" in rest)
    bases = []
    for keyword, rest in instructions:
        if keyword == "FROM":
            image = rest.split()[0]
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], image)
            bases.append(image)
    assert bases and all(base == "python:3.11-slim" for base in bases), bases
    assert any(keyword == "RUN" and re.search(r"\bpip install \.(\s|$)", rest) for keyword, rest in instructions)
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}


def test_dockerfile_copies_only_what_dockerignore_keeps() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".git", ".venv"} <= set(patterns)
    for keyword, rest in _dockerfile_instructions():
        if keyword != "COPY" or "--from=" in rest:
            continue
        sources = rest.split()[:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
            ignored = [p for p in patterns if not p.startswith("!") and fnmatch.fnmatch(source, p)]
            assert not ignored, f"COPY {source} is excluded by .dockerignore ({ignored})"
