"""SSEDecoder: every split of real peer bytes gives the same events.

The bytes come from real encoders (sse_starlette's ``ServerSentEvent``, which
fastapi_poe uses to talk the Poe protocol, and fastapi_poe's own event
helpers), and a second real decoder (httpx-sse) is used as a differential
oracle on arbitrary byte streams.
"""

from __future__ import annotations

import itertools
import json
import re

import pytest
from fastapi_poe.base import PoeBot
from httpx_sse._decoders import SSEDecoder as PeerDecoder
from httpx_sse._decoders import SSELineDecoder as PeerLineDecoder
from hypothesis import given
from hypothesis import strategies as st
from sse_starlette.event import ServerSentEvent

from poe.sse import DONE, SSEDecoder, SSEEvent, encode_comment, encode_data

EOL = re.compile(r"\r\n|\r|\n")


# ---------------------------------------------------------------- helpers


def decode(chunks: list[bytes]) -> list[SSEEvent]:
    dec = SSEDecoder()
    out: list[SSEEvent] = []
    for chunk in chunks:
        out.extend(dec.feed(chunk))
    out.extend(dec.close())
    return out


def bytewise(raw: bytes) -> list[bytes]:
    return [raw[i : i + 1] for i in range(len(raw))]


def cut(raw: bytes, points: list[int]) -> list[bytes]:
    bounds = sorted({0, len(raw), *(p for p in points if 0 <= p <= len(raw))})
    return [raw[a:b] for a, b in itertools.pairwise(bounds)]


def expected_events(peers: list[dict]) -> list[SSEEvent]:
    """What a WHATWG decoder must produce for these sse_starlette events (all with data)."""
    out = []
    last_id = None
    for p in peers:
        if p.get("id") is not None:
            last_id = p["id"]
        data = "\n".join(EOL.split(str(p["data"])))
        out.append(SSEEvent(p.get("event") or "message", data, last_id))
    return out


def encode_peers(peers: list[dict], sep: str) -> bytes:
    return b"".join(ServerSentEvent(**p, sep=sep).encode() for p in peers)


# any text a server may send (no surrogates: they cannot be UTF-8 encoded);
# includes the characters str.splitlines() treats as line breaks but SSE does not
_chars = st.characters(blacklist_categories=("Cs",))
text = st.text(alphabet=st.one_of(_chars, st.sampled_from("\r\n\x85\u2028\x0b\x0c é€😀:")), max_size=40)
one_line = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=12)
peer_event = st.fixed_dictionaries(
    {"data": text},
    optional={
        "event": one_line,
        "id": one_line,
        "comment": text,
        "retry": st.integers(0, 10**6),
    },
)
peer_streams = st.lists(peer_event, max_size=6)
seps = st.sampled_from(["\r\n", "\n", "\r"])


# ---------------------------------------------------------------- against sse_starlette


@given(peer_streams, seps)
def test_whole_stream_matches_peer_encoder(peers, sep):
    raw = encode_peers(peers, sep)
    assert decode([raw]) == expected_events(peers)


@given(peer_streams, seps)
def test_one_byte_at_a_time(peers, sep):
    raw = encode_peers(peers, sep)
    assert decode(bytewise(raw)) == expected_events(peers)


@given(peer_streams, seps, st.data())
def test_random_cuts(peers, sep, data):
    raw = encode_peers(peers, sep)
    points = data.draw(st.lists(st.integers(0, len(raw)), max_size=30))
    assert decode(cut(raw, points)) == expected_events(peers)


@given(peer_streams, seps)
def test_each_event_is_released_by_the_read_that_completes_it(peers, sep):
    """No event is held back waiting for more bytes (streaming latency)."""
    dec = SSEDecoder()
    expected = expected_events(peers)
    for peer, want in zip(peers, expected, strict=True):
        assert dec.feed(ServerSentEvent(**peer, sep=sep).encode()) == [want]
    assert dec.close() == []


@pytest.mark.parametrize("sep", ["\r\n", "\n", "\r"])
def test_cr_only_event_dispatches_without_waiting_for_a_possible_lf(sep):
    dec = SSEDecoder()
    assert dec.feed(ServerSentEvent("hi", event="text", sep=sep).encode()) == [SSEEvent("text", "hi")]


def test_crlf_split_between_cr_and_lf_is_one_line_ending():
    dec = SSEDecoder()
    assert dec.feed(b"event: text\r") == []
    assert dec.feed(b"\ndata: a\r") == []
    # the LF belongs to the CR before it: this is not a blank line
    assert dec.feed(b"\n") == []
    assert dec.feed(b"data: b\r") == []
    assert dec.feed(b"\n\r") == [SSEEvent("text", "a\nb")]
    assert dec.feed(b"\n") == []
    assert dec.feed(b"data: c\r\n\r\n") == [SSEEvent("message", "c")]


def test_cr_then_cr_is_a_blank_line():
    dec = SSEDecoder()
    assert dec.feed(b"data: a\r") == []
    assert dec.feed(b"\r") == [SSEEvent("message", "a")]
    # a later LF right after that CR is swallowed as part of CRLF, not a second blank line
    assert dec.feed(b"\ndata: b\n\n") == [SSEEvent("message", "b")]


def test_pending_cr_survives_an_empty_read():
    dec = SSEDecoder()
    assert dec.feed(b"data: a\r") == []
    assert dec.feed(b"") == []
    assert dec.feed(b"\n") == []  # still the second half of CRLF, not a blank line
    assert dec.feed(b"\n") == [SSEEvent("message", "a")]


@pytest.mark.parametrize("char", ["é", "€", "😀", "中"])
def test_multibyte_character_split_at_every_byte(char):
    raw = ServerSentEvent(json.dumps({"text": char * 3}, ensure_ascii=False), event="text").encode()
    encoded = char.encode()
    start = raw.index(encoded)
    for i in range(1, len(encoded)):
        chunks = [raw[: start + i], raw[start + i :]]
        assert decode(chunks) == [SSEEvent("text", json.dumps({"text": char * 3}, ensure_ascii=False))]


def test_invalid_utf8_becomes_replacement_character_not_an_exception():
    assert decode([b"data: a\xffb\n\n"]) == [SSEEvent("message", "a\ufffdb")]
    # a truncated character at the very end of the stream is flushed by close()
    dec = SSEDecoder()
    assert dec.feed(b"data: x\n\ndata: \xe2\x82") == [SSEEvent("message", "x")]
    assert dec.close() == []


# ---------------------------------------------------------------- framing rules


def test_comments_are_ignored_and_do_not_dispatch():
    raw = b": ping\r\n\r\n" + b":\r\n" + b"event: text\r\n: in the middle\r\ndata: x\r\n\r\n"
    assert decode([raw]) == [SSEEvent("text", "x")]
    assert decode(bytewise(raw)) == [SSEEvent("text", "x")]


def test_sse_starlette_ping_comment_produces_no_event():
    raw = ServerSentEvent(comment="ping").encode()
    assert raw.startswith(b": ping")
    assert decode([raw]) == []


def test_multiline_data_joins_with_lf():
    raw = b"data: first\ndata:second\ndata:  third\ndata\n\n"
    # one optional space after the colon is removed; "data" alone is an empty line of data
    assert decode([raw]) == [SSEEvent("message", "first\nsecond\n third\n")]


def test_event_without_trailing_blank_line_is_dropped_at_close():
    assert decode([b'event: text\r\ndata: {"text": "lost"}']) == []
    assert decode([b'event: text\r\ndata: {"text": "lost"}\r\n']) == []
    assert decode([b"data: kept\n\nevent: text\ndata: lost\n"]) == [SSEEvent("message", "kept")]


def test_event_name_resets_between_events_and_id_persists():
    raw = b"event: text\nid: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"
    assert decode([raw]) == [
        SSEEvent("text", "a", "7"),
        SSEEvent("message", "b", "7"),
        SSEEvent("message", "c", ""),
    ]


def test_id_containing_nul_is_ignored():
    assert decode([b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"]) == [
        SSEEvent("message", "a", "1"),
        SSEEvent("message", "b", "1"),
    ]


def test_unknown_fields_and_retry_are_ignored():
    assert decode([b"retry: 10\nfoo: bar\nevent: text\ndata: x\n\n"]) == [SSEEvent("text", "x")]


def test_leading_byte_order_mark_is_ignored():
    assert decode([b"\xef\xbb\xbfdata: a\n\n"]) == [SSEEvent("message", "a")]
    assert decode(bytewise(b"\xef\xbb\xbfevent: text\ndata: a\n\n")) == [SSEEvent("text", "a")]
    # only at the very start of the stream
    assert decode([b"data: a\n\n\xef\xbb\xbfdata: b\n\n"]) == [SSEEvent("message", "a")]


def test_field_without_colon_or_space():
    assert decode([b"event:text\ndata:{}\n\n"]) == [SSEEvent("text", "{}")]


def test_dataless_named_event_is_delivered():
    """Lenient on purpose: a bare ``event: done`` still ends the answer."""
    assert decode([b"event: done\n\n"]) == [SSEEvent("done", "")]


def test_blank_lines_alone_produce_nothing():
    assert decode([b"\n\n\r\n\r\r\n"]) == []


# ---------------------------------------------------------------- a real Poe stream


def test_fastapi_poe_event_stream_in_every_split():
    bot = PoeBot
    peers = [
        bot.meta_event(content_type="text/markdown"),
        ServerSentEvent(comment="ping"),
        bot.text_event("Hello, "),
        bot.text_event("wörld 😀\nline two\r\nthree"),
        bot.replace_response_event("Replaced"),
        bot.file_event("https://example.com/a.png", "image/png", "a.png"),
        bot.suggested_reply_event("more?"),
        bot.error_event("You do not have enough points", allow_retry=False, error_type="insufficient_fund"),
        bot.done_event(),
    ]
    raw = b"".join(p.encode() for p in peers)
    got = decode(bytewise(raw))
    assert [e.event for e in got] == ["meta", "text", "text", "replace_response", "file", "suggested_reply", "error", "done"]
    assert json.loads(got[1].data) == {"text": "Hello, "}
    assert json.loads(got[2].data) == {"text": "wörld 😀\nline two\r\nthree"}
    assert json.loads(got[4].data)["url"] == "https://example.com/a.png"
    assert json.loads(got[6].data) == {
        "allow_retry": False,
        "text": "You do not have enough points",
        "error_type": "insufficient_fund",
    }
    assert got[7].data == "{}"
    for size in (2, 3, 7, 64):
        assert decode([raw[i : i + size] for i in range(0, len(raw), size)]) == got


# ---------------------------------------------------------------- differential: httpx-sse


_stream_tokens = st.sampled_from(
    ["data", "event", "id", "retry", ":", " ", "  ", "x", "é", "😀", "text", "\r", "\n", "\r\n", "\x00", "\xff"]
)


def _peer_decode(raw: bytes) -> list[tuple[str, str, str]]:
    lines = PeerLineDecoder()
    dec = PeerDecoder()
    out = []
    for line in [*lines.decode(raw.decode("utf-8", "replace")), *lines.flush()]:
        ev = dec.decode(line)
        if ev is not None:
            out.append((ev.event or "message", ev.data, ev.id))
    return out


@given(st.lists(_stream_tokens, max_size=60), st.data())
def test_arbitrary_streams_agree_with_httpx_sse(tokens, data):
    raw = b"".join(b"\xff" if t == "\xff" else t.encode() for t in tokens)  # "\xff": a lone invalid byte
    points = data.draw(st.lists(st.integers(0, len(raw)), max_size=20))
    ours = [(e.event, e.data, e.id or "") for e in decode(cut(raw, points))]
    theirs = _peer_decode(raw)

    # httpx-sse also dispatches events that carry only an id or retry; drop
    # events with neither a name nor data from both sides before comparing
    def meaningful(evs):
        return [e for e in evs if e[0] != "message" or e[1] != ""]

    assert meaningful(ours) == meaningful(theirs)


# ---------------------------------------------------------------- encoder


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | text,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
        max_leaves=20,
    )
)
def test_encode_data_round_trips_through_the_decoder(obj):
    raw = encode_data(obj)
    assert raw.endswith(b"\n\n") and raw.count(b"\n") == 2  # one line, then the blank line
    (event,) = decode(bytewise(raw))
    assert event.event == "message"
    assert json.loads(event.data) == obj


def test_encode_data_keeps_unicode_readable():
    assert encode_data({"content": "é😀"}) == 'data: {"content":"é😀"}\n\n'.encode()


def test_done_and_comment():
    assert decode([DONE]) == [SSEEvent("message", "[DONE]")]
    assert encode_comment("keep-alive") == b": keep-alive\n\n"
    assert decode([encode_comment("keep-alive")]) == []
