"""What the CLI prints: every --json shape (shapes.py) and the tables for people (tables.py)."""
