"""Usage the admin API can show: requests and errors per token, model and day (per isolate).

Counts live in the isolate's memory (sans-IO; the admin API reads them); the day's request
count of a token with a daily limit is also kept in KV by the app, so limits hold across
isolates as far as KV's eventual consistency allows.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["UsageBook"]

DAY = 86400
KEEP_DAYS = 7


class UsageBook:
    def __init__(self) -> None:
        # token name -> day number -> model id -> [requests, client errors, upstream/proxy errors]
        self._book: dict[str, dict[int, dict[str, list[int]]]] = {}

    def record(self, name: str, model: str | None, status: int, now: float) -> None:
        day = int(now // DAY)
        days = self._book.setdefault(name, {})
        counts = days.setdefault(day, {}).setdefault(model or "-", [0, 0, 0])
        counts[0] += 1
        if 400 <= status < 500:
            counts[1] += 1
        elif status >= 500:
            counts[2] += 1
        if len(days) > KEEP_DAYS:
            del days[min(days)]

    def summary(self, name: str, now: float) -> dict[str, Any]:
        days = self._book.get(name, {})
        out: dict[str, Any] = {}
        for day in sorted(days, reverse=True):
            models = days[day]
            out[_date(day)] = {
                "requests": sum(c[0] for c in models.values()),
                "client_errors": sum(c[1] for c in models.values()),
                "errors": sum(c[2] for c in models.values()),
                "by_model": {m: {"requests": c[0], "client_errors": c[1], "errors": c[2]} for m, c in sorted(models.items())},
            }
        return out


def _date(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
