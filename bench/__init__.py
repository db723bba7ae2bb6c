"""Benchmarks that print figures (never asserted as timed tests). Run: `python -m bench`."""
