"""The CLI's exit codes (DESIGN section 3) and the error for input a user can fix. Its own module
so the CLI and the app's launcher share it without importing each other."""

from __future__ import annotations

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """A user error with a message that names the file, line and field."""
