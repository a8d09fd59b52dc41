"""Usage the admin API can show: requests and errors per token, model and day (per isolate).

Counts live in the isolate's memory (sans-IO; the admin API reads them); the day's request
count of a token with a daily limit is also kept in KV by the app, so limits hold across
isolates as far as KV's eventual consistency allows. Each day also keeps its requests per
UTC hour (the console's chart) and its failed answers per HTTP status (its errors by class).
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["UsageBook"]

DAY = 86400
HOUR = 3600
KEEP_DAYS = 7


class _Day:
    __slots__ = ("by_hour", "by_status", "models")

    def __init__(self) -> None:
        self.models: dict[str, list[int]] = {}  # model id -> [requests, client errors, upstream/proxy errors]
        self.by_hour = [0] * 24  # requests per UTC hour
        self.by_status: dict[int, int] = {}  # status >= 400 -> answers


class UsageBook:
    def __init__(self) -> None:
        # token name -> day number -> the day's counts
        self._book: dict[str, dict[int, _Day]] = {}

    def record(self, name: str, model: str | None, status: int, now: float) -> None:
        day = int(now // DAY)
        days = self._book.setdefault(name, {})
        entry = days.get(day)
        if entry is None:
            entry = days[day] = _Day()
        counts = entry.models.setdefault(model or "-", [0, 0, 0])
        counts[0] += 1
        entry.by_hour[int(now % DAY // HOUR)] += 1
        if 400 <= status < 500:
            counts[1] += 1
        elif status >= 500:
            counts[2] += 1
        if status >= 400:
            entry.by_status[status] = entry.by_status.get(status, 0) + 1
        if len(days) > KEEP_DAYS:
            del days[min(days)]

    def summary(self, name: str, now: float) -> dict[str, Any]:
        """Newest day first: ``{"2026-11-30": {"requests", "client_errors", "errors", "by_model",
        "by_hour" (24 counts, UTC), "by_status" ({"429": n}, failures only)}}``."""
        days = self._book.get(name, {})
        out: dict[str, Any] = {}
        for day in sorted(days, reverse=True):
            entry = days[day]
            models = entry.models
            out[_date(day)] = {
                "requests": sum(c[0] for c in models.values()),
                "client_errors": sum(c[1] for c in models.values()),
                "errors": sum(c[2] for c in models.values()),
                "by_model": {m: {"requests": c[0], "client_errors": c[1], "errors": c[2]} for m, c in sorted(models.items())},
                "by_hour": list(entry.by_hour),
                "by_status": {str(s): n for s, n in sorted(entry.by_status.items())},
            }
        return out


def _date(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
