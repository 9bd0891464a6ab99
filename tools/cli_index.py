"""Rewrite the command line's table of built-in optimizer and function names
(optimlab/cli/_index_data.py) from the registries; tests/test_cli_conventions.py fails
while it is stale.

    PYTHONPATH=. python tools/cli_index.py
"""

from optimlab.cli._index import write_index

if __name__ == "__main__":
    print(f"wrote {write_index()}")
