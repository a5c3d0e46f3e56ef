"""The package's version, in one place: pyproject reads it, `portside --version` prints it."""

__version__ = "0.2.0"
