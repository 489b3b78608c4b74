"""What the deploy layer asks of AWS: every request valid against botocore's service model (the emulator
accepts anything), and the shape real AWS needs — the Glue job ships its code, the Lambda's environment
names a secret instead of carrying a password, and a process with only that environment reaches RDS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

import pytest

from retailstream import clients
from retailstream.lab import namespace
from retailstream.s3util import S3Location
from retailstream.settings import GENERATED_SECRETS, namespaced_values


def _violations(value, shape, path: str) -> list[str]:
    """What botocore's client-side validation leaves out: enums, maximum lengths and sizes, patterns."""
    found = []
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if name in value:
                found += _violations(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list":
        found += _lengths(value, shape, path)
        for i, item in enumerate(value):
            found += _violations(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map":
        found += _lengths(value, shape, path)
        for key, item in value.items():
            found += _violations(key, shape.key, f"{path}<key {key}>")
            found += _violations(item, shape.value, f"{path}[{key}]")
    elif shape.type_name == "string":
        found += _lengths(value, shape, path)
        if shape.enum and value not in shape.enum:
            found.append(f"{path}: {value!r} not one of {shape.enum}")
        pattern = shape.metadata.get("pattern")
        if pattern and not _java_pattern_matches(pattern, value):
            found.append(f"{path}: {value!r} does not match {pattern}")
    elif shape.type_name in ("integer", "long", "double", "float"):
        for bound, ok in (
            ("min", value >= shape.metadata.get("min", value)),
            ("max", value <= shape.metadata.get("max", value)),
        ):
            if not ok:
                found.append(f"{path}: {value} outside {bound} {shape.metadata[bound]}")
    return found


def _lengths(value, shape, path: str) -> list[str]:
    size = len(value)
    low, high = shape.metadata.get("min", 0), shape.metadata.get("max")
    if size < low or (high is not None and size > high):
        return [f"{path}: length {size} outside [{low}, {high}]"]
    return []


def _java_pattern_matches(pattern: str, value: str) -> bool:
    """The model's patterns are Java regexes; the Java-only classes used in them become Python's."""
    translated = (
        pattern.replace(r"\p{L}", "a-zA-Z\u00c0-\uffff")
        .replace(r"\p{Z}", r"\s")
        .replace(r"\p{N}", "0-9")
        .replace(r"\p{Alnum}", "a-zA-Z0-9")
        .replace(r"\p{Lower}", "a-z")
        .replace(r"\p{Upper}", "A-Z")
    )
    # Java spells supplementary characters as surrogate pairs
    translated = translated.replace(r"\uD800\uDC00-\uDBFF\uDFFF", r"\U00010000-\U0010FFFF")
    try:
        return re.fullmatch(translated, value, re.DOTALL) is not None
    except re.error:  # a Java construct Python's re lacks: not checkable here
        UNCHECKED_PATTERNS.add(pattern)
        return True


UNCHECKED_PATTERNS: set[str] = set()


@pytest.fixture(scope="module")
def deployed(lab, settings, tmp_path_factory, monkeypatch_module):
    """A namespace deployed from scratch, with every AWS request the deploy layer made on the way."""
    s = settings.model_copy(
        update=namespaced_values(settings, f"deploy_{uuid.uuid4().hex[:6]}", tmp_path_factory.mktemp("ns"))
    )
    requests: list[tuple[str, str, dict, object]] = []
    real_client = clients.aws_client

    def recording_client(service, settings=None):
        client = real_client(service, settings)

        def record(params, model, **_):
            requests.append((service, model.name, dict(params), model.input_shape))

        client.meta.events.register("provide-client-params.*.*", record)
        return client

    monkeypatch_module.setattr(clients, "aws_client", recording_client)
    try:
        namespace.provision(s)  # the namespace's databases too: the function's secret names one
    finally:
        monkeypatch_module.setattr(clients, "aws_client", real_client)
    yield s, requests
    namespace.destroy(s)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_every_deploy_request_is_valid_for_aws(deployed):
    _, requests = deployed
    operations = {f"{service}.{operation}" for service, operation, _, _ in requests}
    for needed in (
        "s3.CreateBucket",
        "sqs.CreateQueue",
        "glue.CreateJob",
        "glue.CreateTrigger",
        "glue.CreateCrawler",
        "lambda.CreateFunction",
        "secretsmanager.CreateSecret",
    ):
        assert needed in operations, f"{needed} not requested: {sorted(operations)}"
    problems = [
        problem
        for service, operation, params, shape in requests
        if shape is not None
        for problem in _violations(params, shape, f"{service}.{operation}")
    ]
    assert not problems, "\n".join(problems)
    assert not UNCHECKED_PATTERNS, f"patterns this test cannot check: {UNCHECKED_PATTERNS}"


def test_the_glue_job_ships_its_script_and_code(deployed):
    s, _ = deployed
    job = clients.aws_client("glue", s).get_job(JobName=s.glue_job_name)["Job"]
    s3 = clients.aws_client("s3", s)
    for uri in (job["Command"]["ScriptLocation"], job["DefaultArguments"]["--extra-py-files"]):
        where = S3Location.parse(uri)
        assert s3.head_object(Bucket=where.bucket, Key=where.prefix)["ContentLength"] > 0, uri
    code = S3Location.parse(job["DefaultArguments"]["--extra-py-files"])
    assert code.prefix.endswith(".zip")


def test_the_lambda_environment_names_a_secret_and_holds_no_password(deployed):
    s, _ = deployed
    function = clients.aws_client("lambda", s).get_function(FunctionName=s.lambda_function_name)
    variables = function["Configuration"]["Environment"]["Variables"]
    secrets = {getattr(s, name).get_secret_value() for name in GENERATED_SECRETS} - {""}
    assert not secrets & set(variables.values()), "a password in the function's environment"
    assert not any("PASSWORD" in name for name in variables)
    assert variables["RETAILSTREAM_RDS_LOADER_SECRET_ID"] == s.rds_loader_secret_id
    assert variables["RETAILSTREAM_RDS_DATABASE"] == s.rds_database
    stored = json.loads(
        clients.aws_client("secretsmanager", s).get_secret_value(SecretId=s.rds_loader_secret_id)[
            "SecretString"
        ]
    )
    assert stored["username"] == s.rds_loader_user and stored["dbname"] == s.rds_database


def test_a_process_with_only_the_function_environment_reaches_rds(deployed):
    """As the Lambda runs: no .env, no password — the credentials come from Secrets Manager."""
    s, _ = deployed
    variables = clients.aws_client("lambda", s).get_function(FunctionName=s.lambda_function_name)[
        "Configuration"
    ]["Environment"]["Variables"]
    code = (
        "from retailstream import clients\n"
        "from retailstream.settings import Settings\n"
        "s = Settings(_env_file=None)\n"
        "assert not s.rds_loader_password.get_secret_value()\n"
        "with clients.rds_cursor('loader', settings=s) as cur:\n"
        "    cur.execute('SELECT CURRENT_USER(), DATABASE()')\n"
        "    print(*cur.fetchone())\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **variables}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    user, database = done.stdout.split()
    assert user.startswith(f"{s.rds_loader_user}@") and database == s.rds_database


def test_the_validator_catches_what_botocore_lets_through():
    import botocore.session

    shape = botocore.session.get_session().get_service_model("glue").operation_model("CreateJob").input_shape
    bad = {
        "Name": "x" * 300,  # max 255
        "Role": "r",
        "Command": {"Name": "pythonshell", "PythonVersion": "2.7.1"},  # pattern ^([2-3]|3[.]9)$
        "WorkerType": "Huge",  # not an enum value
    }
    problems = _violations(bad, shape, "glue.CreateJob")
    assert any(".Name: length 300" in p for p in problems), problems
    assert any("WorkerType" in p for p in problems), problems
    assert any("PythonVersion" in p for p in problems), problems
