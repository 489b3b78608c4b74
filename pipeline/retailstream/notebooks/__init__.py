"""The notebooks (``notebooks/*.ipynb``) executed against a pipeline run: ``retailstream notebooks run``,
called by ``make demo`` after the DAG run."""
