"""Usage the admin API shows: counts per access token and per Poe key, by UTC day and model (sans-IO).

A ``UsageBook`` is plain counters that add up: an isolate records its requests into a
book of its own, sends it to the ledger (``ledger.py``) coalesced and starts a new one;
the ledger merges every isolate's books into one. Each day of a subject keeps, per model,
named counters (``requests``, ``client_errors``, ``errors``, ``input_tokens``,
``output_tokens``, ``metered`` for a token; ``answered`` and failures by class for a key),
its requests per UTC hour (the console's chart) and its failed answers per HTTP status.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

__all__ = ["KEEP_DAYS", "TOKEN_FIELDS", "Kind", "UsageBook", "date_of", "day_of"]

DAY = 86400
HOUR = 3600
KEEP_DAYS = 7
MAX_MODELS = 500  # a day's distinct models per subject: resolved ids, so bounded by the catalogue anyway

Kind = Literal["token", "key"]
TOKEN_FIELDS = ("requests", "client_errors", "errors", "input_tokens", "output_tokens", "metered")


def day_of(now: float) -> int:
    return int(now // DAY)


def date_of(now: float) -> str:
    """The UTC date, as the books name days: ``2026-11-30``."""
    return _date(day_of(now))


class _Day:
    __slots__ = ("by_hour", "by_status", "models")

    def __init__(self) -> None:
        self.models: dict[str, dict[str, int]] = {}  # model id -> counter name -> count
        self.by_hour = [0] * 24
        self.by_status: dict[str, int] = {}  # "429" -> failed answers

    def add(self, model: str, counts: Mapping[str, int]) -> None:
        entry = self.models.get(model)
        if entry is None:
            if len(self.models) >= MAX_MODELS:
                model = "other"
            entry = self.models.setdefault(model, {})
        for name, n in counts.items():
            if n:
                entry[name] = entry.get(name, 0) + n


class UsageBook:
    def __init__(self) -> None:
        self._book: dict[str, dict[str, dict[int, _Day]]] = {"token": {}, "key": {}}  # kind -> subject -> day
        self.empty = True

    def _day(self, kind: Kind, subject: str, day: int) -> _Day:
        days = self._book[kind].setdefault(subject, {})
        entry = days.get(day)
        if entry is None:
            entry = days[day] = _Day()
            if len(days) > KEEP_DAYS:
                del days[min(days)]
        self.empty = False
        return entry

    def record(self, name: str, model: str | None, status: int, now: float) -> None:
        """An access token's answered request: its status sorts it as fine, a client error or an error."""
        entry = self._day("token", name, day_of(now))
        counts = {"requests": 1}
        if status >= 400:
            counts["client_errors" if status < 500 else "errors"] = 1
            key = str(status)
            entry.by_status[key] = entry.by_status.get(key, 0) + 1
        entry.add(model or "-", counts)
        entry.by_hour[int(now % DAY // HOUR)] += 1

    def count(self, kind: Kind, subject: str, model: str | None, now: float, counts: Mapping[str, int]) -> None:
        """Counters added to a subject's day: a key's attempt outcome, tokens an answer used."""
        self._day(kind, subject, day_of(now)).add(model or "-", counts)

    # ------------------------------------------------------------ between isolates and the ledger

    def to_json(self) -> dict[str, Any]:
        return {
            kind: {
                subject: {
                    str(day): {"models": entry.models, "by_hour": entry.by_hour, "by_status": entry.by_status}
                    for day, entry in days.items()
                }
                for subject, days in subjects.items()
            }
            for kind, subjects in self._book.items()
        }

    def merge(self, data: Any) -> None:
        """Adds a book's ``to_json`` (another isolate's, or the ledger's stored one); skips what is malformed."""
        if not isinstance(data, dict):
            return
        for kind in ("token", "key"):
            subjects = data.get(kind)
            if not isinstance(subjects, dict):
                continue
            for subject, days in subjects.items():
                if not isinstance(days, dict):
                    continue
                for day, raw in days.items():
                    if not (isinstance(day, str) and day.isdigit() and isinstance(raw, dict)):
                        continue
                    entry = self._day(kind, str(subject)[:64], int(day))
                    for model, counts in _dict(raw.get("models")).items():
                        entry.add(str(model)[:200], {str(k): v for k, v in _dict(counts).items() if _count(v)})
                    hours = raw.get("by_hour")
                    if isinstance(hours, list) and len(hours) == 24 and all(_count(n) for n in hours):
                        entry.by_hour = [a + b for a, b in zip(entry.by_hour, hours, strict=True)]
                    for status, n in _dict(raw.get("by_status")).items():
                        if _count(n):
                            entry.by_status[str(status)] = entry.by_status.get(str(status), 0) + n

    # ------------------------------------------------------------ what the admin API shows

    def summary(self, kind: Kind, subject: str) -> dict[str, Any]:
        """Newest day first: ``{"2026-11-30": {<totals>, "by_model": {model: counters},
        "by_hour": [24 counts, UTC], "by_status": {"429": n}}}`` (a token's days have every
        token counter, zero or not; a key's have the outcomes it had)."""
        days = self._book[kind].get(subject, {})
        out: dict[str, Any] = {}
        for day in sorted(days, reverse=True):
            entry = days[day]
            totals: dict[str, int] = dict.fromkeys(TOKEN_FIELDS, 0) if kind == "token" else {}
            for counts in entry.models.values():
                for name, n in counts.items():
                    totals[name] = totals.get(name, 0) + n
            full = kind == "token"
            out[_date(day)] = {
                **totals,
                "by_model": {
                    m: ({**dict.fromkeys(TOKEN_FIELDS, 0), **c} if full else dict(c)) for m, c in sorted(entry.models.items())
                },
                "by_hour": list(entry.by_hour),
                "by_status": dict(sorted(entry.by_status.items())),
            }
        return out

    def subjects(self, kind: Kind) -> list[str]:
        return sorted(self._book[kind])

    def prune(self, now: float, keep_days: int = KEEP_DAYS) -> bool:
        """Drops days older than ``keep_days`` (at least today is kept); True if anything went."""
        first = day_of(now) - max(1, keep_days) + 1
        dropped = False
        for subjects in self._book.values():
            for subject in list(subjects):
                days = subjects[subject]
                for day in [d for d in days if d < first]:
                    del days[day]
                    dropped = True
                if not days:
                    del subjects[subject]
        return dropped

    def days_kept(self, now: float) -> int:
        """How many days back the oldest kept day lies (1: today only)."""
        days = [d for subjects in self._book.values() for ds in subjects.values() for d in ds]
        return day_of(now) - min(days) + 1 if days else 0


def _dict(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 53


def _date(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * DAY))
