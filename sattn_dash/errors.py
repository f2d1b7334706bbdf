"""The one exception family for mistakes a user can make.

Pages show these with ``st.error``; the CLI prints them and exits 2. Anything else that
escapes is a bug in sattn-dash, not in the user's input.
"""


class UserError(Exception):
    """A mistake the user can fix; the message says what was wrong and what to do."""


class DataError(UserError):
    """The table cannot be read or used as given (bad file, bad column choice)."""


class SpecError(UserError):
    """A model spec is invalid; the message names the bad field."""


class RunError(UserError):
    """A run cannot be found, loaded or changed as asked."""
