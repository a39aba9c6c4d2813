"""Studies: configs, the sweep runner, the DuckDB results store and the `python -m studies` CLI."""
