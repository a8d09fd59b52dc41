"""The usage book: counts per token and key, model, day, UTC hour and status; books that add up."""

from __future__ import annotations

import json

from poe.usage import KEEP_DAYS, UsageBook

DAY = 86400
T0 = 20_000 * DAY  # 2024-10-04 00:00 UTC


def test_summary_by_day_model_hour_and_status() -> None:
    book = UsageBook()
    book.record("alice", "echo", 200, T0 + 3600 * 5 + 10)
    book.record("alice", "echo", 429, T0 + 3600 * 5 + 20)
    book.record("alice", None, 403, T0 + 3600 * 23 + 3599)
    book.record("alice", "gpt-4o", 502, T0 + DAY + 1)
    book.count("token", "alice", "echo", T0 + 30, {"input_tokens": 12, "output_tokens": 7, "metered": 1})
    book.record("bob", "echo", 200, T0)
    summary = book.summary("token", "alice")
    assert list(summary) == ["2024-10-05", "2024-10-04"]  # newest first
    day = summary["2024-10-04"]
    assert (day["requests"], day["client_errors"], day["errors"]) == (3, 2, 0)
    assert (day["input_tokens"], day["output_tokens"], day["metered"]) == (12, 7, 1)
    zero = {"requests": 0, "client_errors": 0, "errors": 0, "input_tokens": 0, "output_tokens": 0, "metered": 0}
    assert day["by_model"] == {
        "-": {**zero, "requests": 1, "client_errors": 1},
        "echo": {**zero, "requests": 2, "client_errors": 1, "input_tokens": 12, "output_tokens": 7, "metered": 1},
    }
    assert len(day["by_hour"]) == 24 and day["by_hour"][5] == 2 and day["by_hour"][23] == 1 and sum(day["by_hour"]) == 3
    assert day["by_status"] == {"403": 1, "429": 1}
    nxt = summary["2024-10-05"]
    assert nxt["by_hour"][0] == 1 and nxt["by_status"] == {"502": 1} and nxt["errors"] == 1
    assert book.summary("token", "nobody") == {}
    assert book.summary("token", "bob")["2024-10-04"]["by_status"] == {}


def test_keys_count_outcomes_by_model() -> None:
    book = UsageBook()
    book.count("key", "fp1", "gpt-4o", T0, {"answered": 1})
    book.count("key", "fp1", "gpt-4o", T0 + 1, {"rate_limited": 1})
    book.count("key", "fp1", "echo", T0 + 2, {"answered": 1, "input_tokens": 5})
    day = book.summary("key", "fp1")["2024-10-04"]
    assert (day["answered"], day["rate_limited"], day["input_tokens"]) == (2, 1, 5)
    assert day["by_model"] == {"echo": {"answered": 1, "input_tokens": 5}, "gpt-4o": {"answered": 1, "rate_limited": 1}}
    assert book.summary("token", "fp1") == {}  # keys and tokens are apart


def test_books_merge_to_the_sum_of_their_counts() -> None:
    a, b, total = UsageBook(), UsageBook(), UsageBook()
    for i in range(30):
        book = a if i % 3 else b
        for target in (book, total):
            target.record("alice", ("echo", "gpt-4o")[i % 2], (200, 429, 502)[i % 3], T0 + i * 1000)
            target.count("key", "fp", "echo", T0 + i * 1000, {"answered": 1, "output_tokens": i})
    merged = UsageBook()
    merged.merge(json.loads(json.dumps(a.to_json())))  # as it travels: JSON
    merged.merge(json.loads(json.dumps(b.to_json())))
    assert merged.to_json() == total.to_json()
    assert merged.summary("token", "alice") == total.summary("token", "alice")


def test_merge_skips_what_is_malformed() -> None:
    book = UsageBook()
    book.merge(
        {
            "token": {
                "x": {
                    "1": {"models": {"m": {"requests": -1, "errors": True, "ok": 2}}, "by_hour": [1], "by_status": {"500": "x"}}
                }
            }
        }
    )
    book.merge({"token": {"x": {"day": {}}}, "key": [1, 2]})
    book.merge("nonsense")
    assert book.to_json()["token"]["x"]["1"]["models"] == {"m": {"ok": 2}}


def test_only_the_last_days_are_kept() -> None:
    book = UsageBook()
    for d in range(KEEP_DAYS + 3):
        book.record("alice", "echo", 200, T0 + d * DAY)
    summary = book.summary("token", "alice")
    assert len(summary) == KEEP_DAYS
    assert min(summary) == "2024-10-07"
    book.prune(T0 + (KEEP_DAYS + 8) * DAY)  # its last day (day 9) is the oldest one still kept
    assert list(book.summary("token", "alice")) == ["2024-10-13"]
