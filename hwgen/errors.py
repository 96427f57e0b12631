"""The one exception type the CLI turns into a single line and exit status 2, and the notices it
prints once a command has succeeded."""


class HwgenError(Exception):
    """Bad input from the user: a message that says what, where, and what is supported."""


class HwgenNotice(UserWarning):
    """Something the user should know about a result (issued with ``warnings.warn``); the CLI
    prints it after the command succeeded, so that a refusal stays one line."""
