"""compose/docker-compose.yml describes the same lab as services.py, with settings only (no engine needed;
`docker-compose config` runs too when docker-compose is installed)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from pydantic import SecretStr

from retailstream.lab.services import build_services
from retailstream.layout import LabLayout
from retailstream.settings import ENV_FILE, GENERATED_SECRETS, PROJECT_ROOT, Settings

COMPOSE_FILE = PROJECT_ROOT / "compose" / "docker-compose.yml"
RUNTIME_IMAGE = "retailstream/runtime:latest"
ONE_SHOT = "bootstrap"
ON_DEMAND = {"tools"}  # `docker compose run` by the Makefile, never started by `up`
OPTIONAL = {"grafana"}  # its profile is on whenever its image can be pulled (`make up` decides)
DOCKERFILE = PROJECT_ROOT / "images" / "runtime" / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def lab_services() -> dict:
    settings = Settings()
    return {svc.name: svc for svc in build_services(settings, LabLayout.of(settings))}


PROJECT_IMAGES = {RUNTIME_IMAGE, "retailstream/tools:latest"}


def _runtime(compose: dict) -> dict[str, dict]:
    """The services of the project's own images (the lab's, the bootstrap and the tools)."""
    return {name: svc for name, svc in compose["services"].items() if svc["image"] in PROJECT_IMAGES}


def test_every_lab_service_is_a_compose_service_running_its_own_command(compose, lab_services):
    assert "version" not in compose  # compose-spec
    runtime = _runtime(compose)
    assert set(runtime) == set(lab_services) | {ONE_SHOT} | ON_DEMAND
    assert set(compose["services"]) == set(runtime) | OPTIONAL
    assert all(compose["services"][name]["profiles"] == [name] for name in ON_DEMAND | OPTIONAL)
    for name in lab_services:
        svc = runtime[name]
        assert svc["command"] == ["retailstream", "lab", "run-service", name]
        assert svc["healthcheck"]["test"] == ["CMD", "python", "-m", "retailstream.lab.healthcheck", name]
        assert svc["restart"] == "unless-stopped" and svc["init"] is True
    for name, svc in compose["services"].items():
        assert svc.get("image"), name
        assert name in {ONE_SHOT} | ON_DEMAND or svc.get("healthcheck"), f"{name} has no healthcheck"
    assert runtime[ONE_SHOT]["restart"] == "no"
    assert runtime[ONE_SHOT]["command"][:3] == ["retailstream", "lab", "bootstrap"]


def test_the_images_are_built_once_from_the_runtime_dockerfile_on_debian_slim(compose):
    """`make up` builds each image once (not per service): compose never builds or pulls them."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    for target, image in (("runtime", RUNTIME_IMAGE), ("tools", "retailstream/tools:latest")):
        assert f"--target {target} -t $({target.upper()}_IMAGE) -f images/runtime/Dockerfile" in makefile
        assert f"{target.upper()}_IMAGE := {image}" in makefile
    for name, svc in _runtime(compose).items():
        assert "build" not in svc and svc["pull_policy"] == "never", name
    # Debian 12 everywhere (an arm64 build passes an arm64 BASE); the runtime and the stage that makes
    # Spark's class archive on the engines stage (the archive is valid for its JDK and jars only), the
    # tools on the runtime
    text = DOCKERFILE.read_text()
    bases = re.findall(r"^FROM (?:--platform=\S+ )?(\S+)", text, flags=re.M)
    assert set(bases) == {"${BASE}", "${BUILD_BASE}", "engines", "runtime"}
    assert set(re.findall(r"^ARG \w*BASE=(\S+)", text, flags=re.M)) == {"debian:bookworm-slim"}


def test_code_is_mounted_not_baked(compose):
    """Only what must be built is in the image; the stack runs the project's code and configs, so an edit
    needs no rebuild. The services that write into the project's folders run as the host's user."""
    text = DOCKERFILE.read_text()
    runtime_stage = text[text.index("AS runtime") :]
    for folder in ("pipeline", "notebooks", "prometheus", "grafana", "datasets", "reports", "tests"):
        assert not re.search(rf"^COPY (--\S+ )*{folder}\b", runtime_stage, flags=re.M), folder
    writers = {"airflow-api", "airflow-scheduler", "airflow-dag-processor", "jupyter", "tools"}
    for name, svc in _runtime(compose).items():
        volumes = svc.get("volumes", [])
        # the code, and the templates every container renders its configs from
        assert {
            "${RETAILSTREAM_HOST_PIPELINE_DIR:-../pipeline}:/opt/retailstream/pipeline:ro",
            "../prometheus:/opt/retailstream/prometheus:ro",
        } <= set(volumes), name
        binds = [v for v in volumes if v.startswith(("../", "${")) and not v.endswith(":ro")]
        assert not binds or name in writers, f"{name} writes {binds} but does not run as the host's user"
        if name in writers:
            assert svc["user"] == "${HOST_UID:-0}:${HOST_GID:-0}", name
    scheduler = compose["services"]["airflow-scheduler"]["volumes"]
    assert {
        "${RETAILSTREAM_HOST_DATASETS_DIR:-../datasets}:/opt/retailstream/datasets",
        "${RETAILSTREAM_HOST_REPORTS_DIR:-../reports}:/opt/retailstream/reports",
    } <= set(scheduler)


def test_dependencies_are_the_native_start_order_and_wait_for_health(compose, lab_services):
    runtime = _runtime(compose)
    for name, svc in lab_services.items():
        depends = runtime[name].get("depends_on", {})
        assert set(depends) == set(svc.after), name
        assert all(d["condition"] == "service_healthy" for d in depends.values())
    bootstrap = runtime[ONE_SHOT]["depends_on"]
    assert set(bootstrap) == set(lab_services)
    assert all(d["condition"] == "service_healthy" for d in bootstrap.values())


def test_environment_names_only_settings_and_every_client_endpoint_names_a_service(
    compose, lab_services, monkeypatch
):
    runtime = _runtime(compose)
    environments = [svc["environment"] for svc in runtime.values()]
    assert all(env == environments[0] for env in environments)
    env = environments[0]
    for var in env:
        assert var.startswith("RETAILSTREAM_"), var
        assert var.removeprefix("RETAILSTREAM_").lower() in Settings.model_fields, f"{var} is no setting"
    for var, value in env.items():
        monkeypatch.setenv(var, str(value))
    s = Settings(_env_file=None)
    assert s.bind_host == "0.0.0.0"
    hosts = {name: getattr(s, name) for name in Settings.model_fields if name.endswith("_host")}
    hosts.pop("bind_host")
    hosts.pop("spark_driver_host")  # local mode: the driver's own executors, inside its container
    for name, host in hosts.items():
        assert host in compose["services"], f"{name}={host} is not a compose service"
    assert s.aws_endpoint_url == f"http://moto:{s.moto_port}"
    assert "%" in s.rds_account_hosts
    # Each published container port is the one the service listens on per the containers' settings
    # (compose's environment over the defaults; this machine's .env may move the native lab's ports).
    secrets = {k: v for k, v in Settings().model_dump().items() if isinstance(v, SecretStr)}
    in_containers = s.model_copy(update=secrets)
    services = {svc.name: svc for svc in build_services(in_containers, LabLayout.of(in_containers))}
    for name, svc in runtime.items():
        for mapping in svc.get("ports", []):
            assert int(mapping.rsplit(":", 1)[1]) in services[name].ports, (name, mapping)


def test_secrets_come_from_the_ignored_env_file_and_uis_bind_loopback(compose):
    text = COMPOSE_FILE.read_text()
    secret_vars = {f"RETAILSTREAM_{name.upper()}" for name in GENERATED_SECRETS}
    for name, svc in compose["services"].items():
        assert svc["env_file"] == "../.env", name
        for var, value in (svc.get("environment") or {}).items():
            assert var not in secret_vars, f"{name} sets {var} literally"
            if re.search(r"PASSWORD|SECRET|TOKEN", var):
                # Expanded by the program from the variable env_file provides ($$: not compose's).
                reference = re.fullmatch(r"\$\$__env\{(\w+)\}", str(value))
                assert reference and reference[1] in secret_vars, f"{name}: {var} is a literal"
        for mapping in svc.get("ports", []):
            assert mapping.startswith("127.0.0.1:"), f"{name} publishes {mapping} beyond loopback"
    if ENV_FILE.exists():
        values = [line.split("=", 1)[1] for line in ENV_FILE.read_text().splitlines() if "=" in line]
        assert not [v for v in values if len(v) >= 8 and v in text], "a value of .env is in the compose file"


def _compose_command() -> list[str] | None:
    if (
        shutil.which("docker")
        and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0
    ):
        return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_docker_compose_accepts_the_file():
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor docker-compose is installed: structural checks only")
    if not ENV_FILE.exists():
        pytest.skip(".env (env_file of every service) is missing: run `make setup`")
    profiles = [arg for name in ("grafana", "tools") for arg in ("--profile", name)]
    result = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), *profiles, "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    services = subprocess.run(
        [*command, "-f", str(COMPOSE_FILE), *profiles, "config", "--services"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert set(services) == set(yaml.safe_load(COMPOSE_FILE.read_text())["services"])
