"""A narrated walkthrough video of the lab after a `make demo` run (`retailstream walkthrough record`,
`make walkthrough`): the chapters of ``script/*.yaml`` — the problem, ingestion, features, the transfer to
Hive, the ten answers, Airflow, monitoring, the challenges faced — spoken by festival, each slide on
screen for as long as its narration.

Debian's Chromium, driven headless by Playwright (no browser download), opens every page the script
shows (Airflow, the report, the executed notebooks in JupyterLab, Prometheus, the Thrift Server, pages of
the recorder's own built from WebHDFS and the webhook receiver), checks that it shows its expected text —
a page that does not fails the recording, naming its URL — and screenshots it; the demo's recorded
output is typed out frame by frame; an alert drill makes an alert fire and resolve; ffmpeg mixes the
MP4 with subtitles (burned in and as a track, also ``walkthrough.vtt``) and chapter marks.
"""
