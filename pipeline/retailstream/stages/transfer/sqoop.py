"""The ``sqoop`` engine: real Apache Sqoop 1.4.7 imports one window of an RDS table into HDFS staging.

Sqoop runs as ``java -cp … org.apache.sqoop.Sqoop import …`` in local MapReduce mode against the lab
HDFS. What it takes to run Sqoop 1.4.7 (2017, built for Hadoop 2.6) on Hadoop 3.5 and Java 17:

* commons-cli 1.5 and commons-lang 2.6 ahead of Hadoop's jars (``.lab/jars/sqoop``, see sqoop-pom.xml);
* ``mapreduce.jobtracker.address=local``: Sqoop only honours ``-m`` when it recognises local mode by
  that key, and ``mapreduce.local.map.tasks.maximum`` lets the local runner run the mappers in parallel;
* the folder Sqoop compiles its generated record class into (``--bindir``) on the JVM classpath: the
  local runner's tasks load that class by name;
* ``--password-file file://…`` (a 0600 file under ``.lab/run``): the password is never on a command line.

JDBC path (default): ``--driver org.mariadb.jdbc.Driver`` makes Sqoop use its generic JDBC manager;
``--fetch-size`` streams rows in batches. Output is text with \\001 between fields and ``\\N`` for NULL.

``--direct`` (mysqldump fast path, ``transfer_sqoop_direct``) applies to MySQL/MariaDB, with caveats:
Sqoop's MySQL manager loads ``com.mysql.jdbc.Driver`` by name (MySQL Connector/J, not the MariaDB
driver), it dumps every column (no ``--columns``), writes booleans as 0/1, ignores ``--fetch-size``, and
MariaDB's mysqldump (10.5.25+/10.11.8+) begins its output with a "sandbox mode" comment line that
Sqoop's parser turns into garbage rows — a two-line wrapper (written to ``.lab/run/sqoop/bin``) drops
that line. ``make bench`` compares both paths.

Incremental imports use ``--incremental lastmodified --check-column updated_at --last-value <lower>``
plus ``--where "updated_at < <upper>"``, so Sqoop reads exactly the window both engines share
(``transfer.window``). ``--incremental append`` needs a strictly increasing column (an AUTO_INCREMENT
id) and never sees updates; these tables have natural keys and an ``updated_at`` that moves on change,
so lastmodified (with the merge by key done in Hive) is the mode that fits.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from retailstream import clients
from retailstream.hadoop_conf import LOG4J_CONSOLE, core_site, hadoop_xml, mapred_site, yarn_site
from retailstream.layout import LabLayout
from retailstream.settings import Settings, write_private
from retailstream.stages.transfer.window import Window, sql_timestamp
from retailstream.warehouse import identifier

log = logging.getLogger(__name__)

SQOOP_MAIN = "org.apache.sqoop.Sqoop"
MARIADB_DRIVER = "org.mariadb.jdbc.Driver"
FIELD_DELIMITER = "\x01"
NULL_TEXT = "\\N"
_RETRIEVED = re.compile(r"Retrieved (\d+) records")
_SANDBOX_FILTER = """#!/bin/bash
# MariaDB's mysqldump (10.5.25+, 10.11.8+) starts with a "sandbox mode" comment line that Sqoop 1.4.7's
# mysqldump parser turns into garbage rows: drop that line, keep mysqldump's exit status.
set -o pipefail
{dump} "$@" | sed '1{{/^\\/\\*M!999999/d}}'
"""


class SqoopError(RuntimeError):
    pass


@dataclass(frozen=True)
class SqoopImport:
    table: str
    columns: tuple[str, ...]
    split_by: str
    mappers: int
    fetch_size: int
    direct: bool
    check_column: str
    window: Window
    target_dir: str  # HDFS path, must not exist yet

    def tool_args(self, settings: Settings, username: str, password_file: str) -> list[str]:
        """The arguments of ``sqoop import`` (Hadoop generic ``-D`` options first, as Sqoop requires)."""
        s = settings
        if s.mapreduce_framework == "yarn":
            framework = ["-D", "mapreduce.framework.name=yarn"]
        else:
            framework = [
                "-D",
                "mapreduce.framework.name=local",
                "-D",
                "mapreduce.jobtracker.address=local",
                "-D",
                f"mapreduce.local.map.tasks.maximum={self.mappers}",
            ]
        args = [
            "import",
            *framework,
            "-D",
            f"fs.defaultFS={s.hdfs_url}",
            "--connect",
            s.jdbc_url(),
        ]
        if self.direct:
            args.append("--direct")
        else:
            args += ["--driver", MARIADB_DRIVER, "--fetch-size", str(self.fetch_size)]
        args += [
            "--username",
            username,
            "--password-file",
            password_file,
            "--table",
            self.table,
            "--columns",
            ",".join(self.columns),
            "--split-by",
            self.split_by,
            "-m",
            str(self.mappers),
            "--incremental",
            "lastmodified",
            "--check-column",
            self.check_column,
        ]
        if self.window.lower is not None:
            args += ["--last-value", sql_timestamp(self.window.lower)]
        args += [
            "--where",
            f"{identifier(self.check_column)} < '{sql_timestamp(self.window.upper)}'",
            "--target-dir",
            self.target_dir,
            "--as-textfile",
            "--fields-terminated-by",
            "\\001",
        ]
        if not self.direct:
            args += ["--null-string", "\\\\N", "--null-non-string", "\\\\N"]
        return args

    def command_line(self, settings: Settings) -> str:
        """The equivalent ``sqoop import …`` command line of a Sqoop installation (for docs and logs)."""
        s = settings
        password_file = f"file://{sqoop_dir(s) / (s.rds_analyst_user + '.password')}"
        return shlex.join(["sqoop", *self.tool_args(s, s.rds_analyst_user, password_file)])


def sqoop_dir(settings: Settings) -> Path:
    return LabLayout.of(settings).run / "sqoop"


def password_file(settings: Settings) -> Path:
    """The analyst's password in a 0600 file, written when missing or changed."""
    user, password = clients.rds_credentials("analyst", settings)
    path = sqoop_dir(settings) / f"{user}.password"
    if not path.exists() or path.read_text() != password:
        write_private(path, password)  # no newline: Sqoop uses the file's bytes as they are
    return path


def mysqldump_wrapper_dir(settings: Settings) -> Path:
    folder = sqoop_dir(settings) / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    dump = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    if dump is None:
        raise SqoopError("Sqoop --direct needs mysqldump: install mariadb-client")
    wrapper = folder / "mysqldump"
    text = _SANDBOX_FILTER.format(dump=dump)
    if not wrapper.exists() or wrapper.read_text() != text:
        wrapper.write_text(text)
    wrapper.chmod(0o755)
    return folder


def client_conf(settings: Settings, run_dir: Path) -> Path:
    """Hadoop's client configuration for one run, from the settings — not the lab's rendered files: a
    tools container has none (Sqoop would then write to the local file system, silently), and a
    namespace's settings must not rewrite the lab's."""
    conf = run_dir / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "core-site.xml").write_text(hadoop_xml(core_site(settings)))
    (conf / "hdfs-site.xml").write_text(hadoop_xml({"dfs.client.use.datanode.hostname": "true"}))
    (conf / "log4j.properties").write_text(LOG4J_CONSOLE)  # Sqoop's record count is an INFO line
    (conf / "yarn-site.xml").write_text(hadoop_xml(yarn_site(settings)))
    (conf / "mapred-site.xml").write_text(hadoop_xml(mapred_site(settings)))
    return conf


def classpath(settings: Settings, classes: Path, conf: Path) -> str:
    layout = LabLayout.of(settings)
    jars = layout.root / "jars"
    entries = [
        conf,
        f"{jars / 'sqoop'}/*",  # first: Sqoop's older commons-cli/commons-lang win over Hadoop's
        f"{layout.jars}/*",
        settings.mariadb_jdbc_jar,
        classes,
    ]
    return ":".join(str(entry) for entry in entries)


def run_import(spec: SqoopImport, settings: Settings) -> int:
    """Run one Sqoop import; return the number of records Sqoop reports it retrieved."""
    s = settings
    layout = LabLayout.of(s)
    run_dir = sqoop_dir(s) / f"run-{uuid.uuid4().hex[:12]}"
    classes = run_dir / "classes"
    classes.mkdir(parents=True)
    log_path = layout.logs / "sqoop" / f"{spec.table}-{run_dir.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    args = spec.tool_args(s, s.rds_analyst_user, f"file://{password_file(s)}")
    args[1:1] = [
        "-D",
        f"hadoop.tmp.dir={run_dir / 'tmp'}",
        "-D",
        f"mapreduce.jobtracker.staging.root.dir={run_dir / 'staging'}",
    ]
    args += ["--bindir", str(classes), "--outdir", str(run_dir / "src")]
    command = [
        "java",
        "-Xmx768m",
        "-Duser.timezone=UTC",
        "-Djava.net.preferIPv4Stack=true",
        "-cp",
        classpath(s, classes, client_conf(s, run_dir)),
        SQOOP_MAIN,
        *args,
    ]
    env = {**os.environ, "HADOOP_USER_NAME": s.hdfs_user}
    if spec.direct:
        env["PATH"] = f"{mysqldump_wrapper_dir(s)}:{env.get('PATH', '/usr/bin:/bin')}"
    log.info("sqoop: %s", spec.command_line(s))
    try:
        with log_path.open("w") as out:
            result = subprocess.run(command, cwd=run_dir, env=env, stdout=out, stderr=subprocess.STDOUT)
        text = log_path.read_text(errors="replace")
        if result.returncode != 0:
            tail = "\n".join([line for line in text.splitlines() if " WARN " not in line][-20:])
            raise SqoopError(
                f"sqoop import of {spec.table} failed (exit {result.returncode}); {log_path}:\n{tail}"
            )
        retrieved = _RETRIEVED.findall(text)
        if not retrieved:
            raise SqoopError(f"sqoop import of {spec.table}: no record count in {log_path}")
        return int(retrieved[-1])
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
