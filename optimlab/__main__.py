"""``python -m optimlab`` is the ``optimlab`` command."""

from optimlab.cli import main

if __name__ == "__main__":
    main()
