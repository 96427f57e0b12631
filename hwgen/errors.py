"""The one exception type the CLI turns into a single line and exit status 2."""


class HwgenError(Exception):
    """Bad input from the user: a message that says what, where, and what is supported."""
