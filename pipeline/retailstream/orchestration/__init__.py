"""Orchestration: the Airflow REST client, the DAG's callbacks, the demo runner."""
