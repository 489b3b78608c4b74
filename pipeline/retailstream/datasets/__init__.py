"""Input datasets of the lab: the synthetic generator, the one loader, and the schema contract.

Kept import-light on purpose: the CLI imports this package at start-up, so pandas, pandera and
pyspark are imported only by the modules that need them.

- ``contract``: the canonical schema of every dataset, and its pandera / Spark / Arrow forms.
- ``loader``: reads generator files and the real Kaggle files into canonical frames.
- ``generator``: the synthetic "Walmart store sales" data, streamed store by store.
- ``prepare``: what ``make demo`` calls: split real Kaggle files or generate, idempotently.
- ``profile``: the dataset properties a reviewer checks first.
"""
