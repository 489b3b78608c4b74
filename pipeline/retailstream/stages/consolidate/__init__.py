"""Stage ``consolidate``: contract, key, orphan and consistency checks of the RDS tables, reported
(``report.consolidate``)."""
