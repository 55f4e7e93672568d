"""Thin command-line shell over the mlark library."""
