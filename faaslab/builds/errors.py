"""The one error a build raises: it names the function or layer and says what failed."""

from __future__ import annotations


class BuildError(Exception):
    """A function or layer could not be built (the message is for the user, whole)."""
