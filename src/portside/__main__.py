"""`python -m portside`."""

from portside.cli.main import entry

entry()
