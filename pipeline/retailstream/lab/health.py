"""Health checks that speak each service's own protocol. Each raises ``Unhealthy`` with a reason."""

from __future__ import annotations

import contextlib
import logging
import socket
import time
import uuid

import requests

from retailstream import clients
from retailstream.settings import Settings

# Thrift logs every refused connection at ERROR; while a service starts that is expected, not news.
logging.getLogger("thrift.transport.TSocket").setLevel(logging.CRITICAL)
logging.getLogger("pyhive.hive").setLevel(logging.WARNING)


class Unhealthy(Exception):
    pass


class Unrecoverable(Unhealthy):
    """Unhealthy in a way no retry can fix (e.g. data made with other secrets): waiting loops stop at
    once, and the message says what the user can do."""


def _http_ok(url: str, timeout: float = 5, **kwargs) -> requests.Response:
    try:
        response = requests.get(url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        raise Unhealthy(f"GET {url}: {exc.__class__.__name__}") from exc
    if response.status_code != 200:
        raise Unhealthy(f"GET {url}: HTTP {response.status_code}")
    return response


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def mariadb(s: Settings) -> None:
    """SELECT 1 over TCP as every application user."""
    for user in ("pipeline", "analyst", "hive"):
        try:
            conn = clients.rds_connect(user, database="", settings=s)
        except Exception as exc:  # pymysql raises several types; the message is what matters here
            raise Unhealthy(f"connect as {user}: {exc}") from exc
        with conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            if cur.fetchone() != (1,):
                raise Unhealthy(f"SELECT 1 as {user} returned something else")


def postgres(s: Settings) -> None:
    """SELECT 1 over TCP as Airflow's user, in Airflow's database."""
    import psycopg2

    try:
        conn = clients.airflow_db_connect(s)
    except psycopg2.Error as exc:
        raise Unhealthy(f"connect as {s.airflow_db_user}: {str(exc).strip()}") from exc
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            if cur.fetchone() != (1,):
                raise Unhealthy(f"SELECT 1 as {s.airflow_db_user} returned something else")
    finally:
        conn.close()


def moto(s: Settings) -> None:
    """S3 ListBuckets against the emulator."""
    try:
        clients.aws_client("s3", s).list_buckets()
    except Exception as exc:
        raise Unhealthy(f"S3 ListBuckets: {exc}") from exc


def namenode(s: Settings) -> None:
    """WebHDFS answers. (Safe mode is left only once the DataNode reports its blocks, so leaving it is
    part of the DataNode's check, which writes a file.)"""
    _http_ok(f"{s.webhdfs_url}/webhdfs/v1/?op=GETFILESTATUS&user.name={s.hdfs_user}")


def datanode(s: Settings) -> None:
    """Write, read back and delete a file through WebHDFS (exercises the DataNode redirect)."""
    client = clients.hdfs_client(s)
    path = f"/tmp/.health-{uuid.uuid4().hex}"
    payload = b"retailstream health"
    try:
        client.write(path, data=payload, overwrite=True)
        with client.read(path) as reader:
            if reader.read() != payload:
                raise Unhealthy("HDFS read back different bytes")
    except Unhealthy:
        raise
    except Exception as exc:
        raise Unhealthy(f"HDFS write/read: {exc}") from exc
    finally:
        # Cleanup of a probe file; the probe's verdict is already decided.
        with contextlib.suppress(Exception):
            client.delete(path)


def resourcemanager(s: Settings) -> None:
    """YARN's REST API: the ResourceManager has started and is the active one."""
    info = _http_ok(f"{s.yarn_resourcemanager_url}/ws/v1/cluster/info").json()["clusterInfo"]
    if (info.get("state"), info.get("haState")) != ("STARTED", "ACTIVE"):
        raise Unhealthy(f"ResourceManager {info.get('state')} / {info.get('haState')}")


def nodemanager(s: Settings) -> None:
    """YARN's REST API: the ResourceManager counts an active NodeManager with memory to offer."""
    metrics = _http_ok(f"{s.yarn_resourcemanager_url}/ws/v1/cluster/metrics").json()["clusterMetrics"]
    if metrics.get("activeNodes", 0) < 1:
        raise Unhealthy(f"no active NodeManager ({metrics.get('unhealthyNodes', 0)} unhealthy)")
    if metrics.get("totalMB", 0) <= 0:
        raise Unhealthy("the active NodeManagers offer no memory")


def metastore(s: Settings) -> None:
    """A Thrift `get_all_databases` call to the Hive metastore."""
    from thrift.protocol import TBinaryProtocol
    from thrift.Thrift import TMessageType, TType
    from thrift.transport import TSocket, TTransport

    sock = TSocket.TSocket(s.hive_metastore_host, s.hive_metastore_port)
    sock.setTimeout(5000)
    transport = TTransport.TBufferedTransport(sock)
    proto = TBinaryProtocol.TBinaryProtocol(transport)
    try:
        transport.open()
        proto.writeMessageBegin("get_all_databases", TMessageType.CALL, 1)
        proto.writeStructBegin("get_all_databases_args")
        proto.writeFieldStop()
        proto.writeStructEnd()
        proto.writeMessageEnd()
        transport.flush()
        _, mtype, _ = proto.readMessageBegin()
        if mtype != TMessageType.REPLY:
            raise Unhealthy("metastore answered get_all_databases with an exception")
        databases: list[str] = []
        proto.readStructBegin()
        while True:
            _, ftype, fid = proto.readFieldBegin()
            if ftype == TType.STOP:
                break
            if fid == 0 and ftype == TType.LIST:
                _, size = proto.readListBegin()
                databases = [proto.readString() for _ in range(size)]
                proto.readListEnd()
            else:
                proto.skip(ftype)
            proto.readFieldEnd()
        if "default" not in databases:
            raise Unhealthy(f"metastore lists no default database: {databases}")
    except Unhealthy:
        raise
    except Exception as exc:
        raise Unhealthy(f"metastore thrift call: {exc}") from exc
    finally:
        transport.close()


def hiveserver2(s: Settings) -> None:
    """`SHOW DATABASES` through HiveServer2 (PyHive)."""
    try:
        conn = clients.hive_connect(s)
        cur = conn.cursor()
        cur.execute("SHOW DATABASES")
        names = [row[0] for row in cur.fetchall()]
        conn.close()
    except Exception as exc:
        raise Unhealthy(f"HiveServer2 query: {exc}") from exc
    if "default" not in names:
        raise Unhealthy(f"HiveServer2 lists no default database: {names}")


def _airflow_component(s: Settings, component: str) -> None:
    info = _http_ok(f"{s.airflow_url}/api/v2/monitor/health").json()
    status = (info.get(component) or {}).get("status")
    if status != "healthy":
        raise Unhealthy(f"airflow {component}: {status or 'not reported'}")


def airflow_api(s: Settings) -> None:
    _airflow_component(s, "metadatabase")


def airflow_scheduler(s: Settings) -> None:
    _airflow_component(s, "scheduler")


def airflow_dag_processor(s: Settings) -> None:
    _airflow_component(s, "dag_processor")


def prometheus(s: Settings) -> None:
    _http_ok(f"{s.prometheus_url}/-/ready")


def pushgateway(s: Settings) -> None:
    _http_ok(f"{s.pushgateway_url}/-/ready")


def alertmanager(s: Settings) -> None:
    _http_ok(f"{s.alertmanager_url}/-/ready")


def jupyter(s: Settings) -> None:
    """Jupyter Server REST API, authenticated, lists the lab's kernel."""
    specs = _http_ok(
        f"{s.jupyter_url}/api/kernelspecs",
        headers={"Authorization": f"token {s.secret('jupyter_token')}"},
    ).json()
    if "retailstream" not in specs.get("kernelspecs", {}):
        raise Unhealthy("kernel 'retailstream' is not registered")


def statsd_exporter(s: Settings) -> None:
    """A StatsD gauge sent over UDP shows up on the exporter's /metrics."""
    import secrets

    value = secrets.randbelow(10**6)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.sendto(f"lab_health.statsd_probe:{value}|g".encode(), (s.statsd_host, s.statsd_port))
    url = f"{s.statsd_exporter_url}/metrics"
    for _ in range(20):
        if f"lab_health_statsd_probe {value}\n" in _http_ok(url).text:
            return
        time.sleep(0.1)
    raise Unhealthy(f"a StatsD gauge sent to UDP {s.statsd_port} did not appear on {url}")


def alert_receiver(s: Settings) -> None:
    """The webhook receiver lists its recorded notifications as JSON."""
    url = f"{s.alert_receiver_url}/alerts"
    if not isinstance(_http_ok(url, params={"since": time.time()}).json(), list):
        raise Unhealthy(f"GET {url} did not return a JSON list")


def service_probes(s: Settings) -> None:
    """The probe exporter answers a scrape with its service health series."""
    url = f"{s.service_probes_url}/metrics"
    if "retailstream_service_up{" not in _http_ok(url, timeout=15).text:
        raise Unhealthy(f"{url} exposes no retailstream_service_up series")


def events_runner(s: Settings) -> None:
    """The curated-events runner (SQS → Lambda handler) answers a scrape with its counters."""
    url = f"{s.events_runner_url}/metrics"
    if "retailstream_events_messages" not in _http_ok(url).text:
        raise Unhealthy(f"{url} exposes no retailstream_events_messages series")
