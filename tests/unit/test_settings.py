from pathlib import Path

import pytest

from retailstream.settings import GENERATED_SECRETS, Settings, ensure_env_file


def test_env_prefix_overrides_defaults(monkeypatch):
    monkeypatch.setenv("RETAILSTREAM_RDS_PORT", "4406")
    monkeypatch.setenv("RETAILSTREAM_AWS_ENDPOINT_URL", "http://s3.compose:5000")
    s = Settings()
    assert s.rds_port == 4406
    assert s.boto3_kwargs()["endpoint_url"] == "http://s3.compose:5000"
    assert s.jdbc_url().startswith("jdbc:mysql://")  # never jdbc:mariadb (Spark dialect trap)


def test_missing_secret_is_a_clear_error(tmp_path: Path):
    s = Settings(_env_file=tmp_path / "absent.env", rds_pipeline_password="")
    with pytest.raises(RuntimeError, match="RETAILSTREAM_RDS_PIPELINE_PASSWORD"):
        s.secret("rds_pipeline_password")


def test_secrets_are_generated_once(tmp_path: Path):
    env = tmp_path / ".env"
    assert set(ensure_env_file(env)) == set(GENERATED_SECRETS)
    first = env.read_text()
    assert ensure_env_file(env) == []
    assert env.read_text() == first
    assert oct(env.stat().st_mode & 0o777) == "0o600"
    values = [line.split("=", 1)[1] for line in first.splitlines() if "=" in line]
    assert len(set(values)) == len(values) and all(len(v) >= 20 for v in values)


def test_the_dependency_free_secrets_script_generates_the_same_names(tmp_path: Path):
    """images/secrets.sh is `retailstream secrets` for a host with only Docker and make."""
    import subprocess

    from retailstream.settings import PROJECT_ROOT

    env = tmp_path / ".env"
    env.write_text("RETAILSTREAM_LAB=compose\nRETAILSTREAM_JUPYTER_TOKEN=kept-as-it-is\n")
    script = PROJECT_ROOT / "images" / "secrets.sh"
    first = subprocess.run(["sh", str(script), str(env)], capture_output=True, text=True, check=True)
    assert set(first.stdout.removeprefix("generated:").split()) == set(GENERATED_SECRETS) - {"jupyter_token"}
    lines = dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line)
    assert set(lines) == {f"RETAILSTREAM_{n.upper()}" for n in GENERATED_SECRETS} | {"RETAILSTREAM_LAB"}
    assert lines["RETAILSTREAM_JUPYTER_TOKEN"] == "kept-as-it-is"
    assert all(
        len(v) >= 20 for k, v in lines.items() if k not in ("RETAILSTREAM_LAB", "RETAILSTREAM_JUPYTER_TOKEN")
    )
    assert oct(env.stat().st_mode & 0o777) == "0o600"
    again = subprocess.run(["sh", str(script), str(env)], capture_output=True, text=True, check=True)
    assert (
        again.stdout == ""
        and dict(line.split("=", 1) for line in env.read_text().splitlines() if "=" in line) == lines
    )
    assert ensure_env_file(env) == []  # the Python side finds nothing missing either


def test_env_example_documents_every_setting():
    from retailstream.settings import PROJECT_ROOT, env_example

    assert (PROJECT_ROOT / ".env.example").read_text() == env_example(), (
        "regenerate: retailstream settings --example > .env.example"
    )
    for name in Settings.model_fields:
        assert f"RETAILSTREAM_{name.upper()}=" in env_example()


def test_real_aws_uses_the_default_credential_chain(monkeypatch):
    monkeypatch.setenv("RETAILSTREAM_AWS_ENDPOINT_URL", "")
    kwargs = Settings().boto3_kwargs()
    assert kwargs == {"region_name": "us-east-1"}


def test_a_namespace_moves_every_data_location(tmp_path: Path):
    from retailstream.settings import (
        NAMESPACED_HDFS_DIRS,
        NAMESPACED_NAMES,
        NAMESPACED_PATHS,
        namespace_env,
        namespaced_values,
    )

    base = Settings()
    values = namespaced_values(base, "e2e_1", tmp_path)
    moved = base.model_copy(update=values)
    for name in (*NAMESPACED_NAMES, *NAMESPACED_HDFS_DIRS, *NAMESPACED_PATHS):
        assert getattr(moved, name) != getattr(base, name), name
    assert moved.rds_database == "retail_ns_e2e_1_retail"
    assert moved.raw_bucket == "ns-e2e-1-retail-raw"
    assert moved.hdfs_warehouse_dir == "/namespaces/e2e_1/retail/warehouse"
    assert moved.datasets_dir == tmp_path / "datasets"
    assert namespace_env(base, "e2e_1", tmp_path)["RETAILSTREAM_HIVE_DATABASE"] == "retail_ns_e2e_1_retail"
    with pytest.raises(ValueError):
        namespaced_values(base, "Bad-Tag", tmp_path)


def test_the_lab_endpoint_follows_the_moto_port(monkeypatch):
    monkeypatch.delenv("RETAILSTREAM_AWS_ENDPOINT_URL", raising=False)  # the compose stack sets both
    monkeypatch.setenv("RETAILSTREAM_MOTO_HOST", "127.0.0.1")
    monkeypatch.setenv("RETAILSTREAM_MOTO_PORT", "25000")
    assert Settings().aws_endpoint_url == "http://127.0.0.1:25000"
    monkeypatch.setenv("RETAILSTREAM_AWS_ENDPOINT_URL", "http://moto:5000")
    assert Settings().aws_endpoint_url == "http://moto:5000"


def test_the_loader_default_gzip_cap_is_the_settings_default():
    from retailstream.datasets.loader import MAX_INFLATED_MB

    assert Settings.model_fields["max_inflated_mb"].default == MAX_INFLATED_MB
