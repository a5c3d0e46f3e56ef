"""Thin front end: one module per verb; each parses, calls the library, renders."""
