"""The error every part of the harness may raise for a user's mistake."""

from __future__ import annotations


class UsageError(Exception):
    """A mistake in what the user typed or pointed at: one line for them, exit code 2."""
