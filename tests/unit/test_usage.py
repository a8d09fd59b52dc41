"""The usage book: requests and failures per token, model, day, UTC hour and status."""

from __future__ import annotations

from poe.usage import KEEP_DAYS, UsageBook

DAY = 86400
T0 = 20_000 * DAY  # 2024-10-04 00:00 UTC


def test_summary_by_day_model_hour_and_status() -> None:
    book = UsageBook()
    book.record("alice", "echo", 200, T0 + 3600 * 5 + 10)
    book.record("alice", "echo", 429, T0 + 3600 * 5 + 20)
    book.record("alice", None, 403, T0 + 3600 * 23 + 3599)
    book.record("alice", "gpt-4o", 502, T0 + DAY + 1)
    book.record("bob", "echo", 200, T0)
    summary = book.summary("alice", T0 + DAY + 2)
    assert list(summary) == ["2024-10-05", "2024-10-04"]  # newest first
    day = summary["2024-10-04"]
    assert (day["requests"], day["client_errors"], day["errors"]) == (3, 2, 0)
    assert day["by_model"] == {
        "-": {"requests": 1, "client_errors": 1, "errors": 0},
        "echo": {"requests": 2, "client_errors": 1, "errors": 0},
    }
    assert len(day["by_hour"]) == 24 and day["by_hour"][5] == 2 and day["by_hour"][23] == 1 and sum(day["by_hour"]) == 3
    assert day["by_status"] == {"403": 1, "429": 1}
    nxt = summary["2024-10-05"]
    assert nxt["by_hour"][0] == 1 and nxt["by_status"] == {"502": 1} and nxt["errors"] == 1
    assert book.summary("nobody", T0) == {}
    assert book.summary("bob", T0)["2024-10-04"]["by_status"] == {}


def test_only_the_last_days_are_kept() -> None:
    book = UsageBook()
    for d in range(KEEP_DAYS + 3):
        book.record("alice", "echo", 200, T0 + d * DAY)
    summary = book.summary("alice", T0 + (KEEP_DAYS + 3) * DAY)
    assert len(summary) == KEEP_DAYS
    assert min(summary) == "2024-10-07"
