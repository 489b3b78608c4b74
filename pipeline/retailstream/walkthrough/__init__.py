"""A recorded walkthrough of the lab after a pipeline run: the demo's terminal output and the UIs it
points to (Airflow, the report, Prometheus, Alertmanager, Pushgateway, HDFS, JupyterLab) as captioned
slides, an MP4 video and an HTML page (`retailstream walkthrough record`, `make walkthrough`).

Debian's Chromium, driven headless by Playwright (no browser download), visits every page, checks that
it shows what its caption claims — a scene that does not fails the recording — and screenshots it;
ffmpeg joins the slides into the video.
"""
