"""Filters for the studio's logging configuration (`settings.LOGGING`)."""

from __future__ import annotations

import logging


class NoTracebackBelow500(logging.Filter):
    """A refused request (403, 404, 400) is logged as one line, not with the traceback of the
    exception that refused it: Django logs `PermissionDenied` with its stack, a screenful of
    noise for every viewer who follows a stale link. Server errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
