"""`python -m app` runs the `conturs` command (for tools without the script)."""

from app.cli import main

main()
