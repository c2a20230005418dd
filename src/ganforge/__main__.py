"""``python -m ganforge`` runs the CLI."""

from ganforge.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
