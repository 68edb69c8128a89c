"""Errors for problems with the user's data, each with a message that says what to fix."""
import re
from pathlib import Path


class DataError(Exception):
    """A missing folder, an unknown layout, unpaired files, a bad option: a user-fixable data problem."""


class ImageReadError(DataError):
    """An image file that cannot be opened or decoded; `path` names it so callers can skip it."""

    def __init__(self, path, reason):
        self.path = Path(path)
        reason = re.sub(f":? (['\"]){re.escape(str(self.path))}\\1", "", str(reason))  # Pillow and the OS name it again
        super().__init__(f"cannot read image {self.path}: {reason}")
