"""Hadoop client configuration from the settings: what a Hadoop client (Sqoop, the lab's services) needs
to find HDFS, as XML, and a console log4j config."""

from __future__ import annotations

from xml.sax.saxutils import escape

from retailstream.settings import Settings

LOG4J_CONSOLE = """\
log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
"""


def hadoop_xml(properties: dict[str, object]) -> str:
    body = "\n".join(
        f"  <property><name>{escape(k)}</name><value>{escape(str(v))}</value></property>"
        for k, v in properties.items()
    )
    return f'<?xml version="1.0"?>\n<configuration>\n{body}\n</configuration>\n'


def core_site(s: Settings) -> dict[str, object]:
    return {
        "fs.defaultFS": s.hdfs_url,
        "hadoop.http.staticuser.user": s.hdfs_user,
        "hadoop.security.authentication": "simple",
    }
