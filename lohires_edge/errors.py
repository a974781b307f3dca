"""Expected failures: the errors a user can cause and fix (bad input, bad config, missing runtime).

The CLIs print such an error as one line and exit 1; anything else is a bug and keeps its traceback.
"""


class LohiresError(Exception):
    """An expected failure; its message says what is wrong and what to do about it."""
