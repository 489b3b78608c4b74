"""Stage 1, clean and merge: the Glue job's script (``glue_script``) and its logic (``merge``).

``retailstream.deploy.glue_job`` registers the job; ``retailstream.emulation.glue_jobs`` runs it where
Glue cannot (an emulator): ``start_run(settings, arguments, wait)`` is the DAG's entry point.
"""
