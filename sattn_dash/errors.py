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


class DiskFullError(UserError):
    """A file could not be written because its disk (or the user's quota) is full."""


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk or the quota is full (not a bug: the machine's)."""
    import errno

    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def where_full(exc: OSError, fallback: str = ".") -> str:
    """``"<file> (on <mount point>, <free> free)"``: which disk ran out, for a message."""
    import os
    import shutil

    target = os.path.abspath(str(exc.filename or fallback))
    folder = target
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    mount = folder
    while not os.path.ismount(mount):
        mount = os.path.dirname(mount)
    try:
        free = f"{shutil.disk_usage(folder).free / 1e6:.1f} MB free"
    except OSError:
        free = "free space unknown"
    return f"{target} (on {mount}, {free})"
