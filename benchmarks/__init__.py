"""Speed figures: ``.venv/bin/python benchmarks/run.py`` (see README, Benchmarks)."""
