"""The one error the UI shows: what happened and what to do, in words meant for users."""

from __future__ import annotations


class PlaygroundError(Exception):
    """An error meant for the user: `message` says what happened and what to do."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
