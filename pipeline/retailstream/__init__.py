"""RetailStream: a retail chain's data pipeline on real engines, laptop-sized."""

__version__ = "0.1.0"
