"""Poe's bot protocol (``POST /bot/<name>``), translated into canonical answer events.

``open_answer`` uploads images, builds the query, and tries keys through the
pool until the bot's first meaningful event has arrived (the commit point).
After that the answer is a series of batches of canonical events, one batch per
upstream read, so a door writes once per read rather than once per event.
One ``Watchdog`` per answer ends a stalled stream; no timer per read.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable

from ..canonical import AnswerEvent, Batches, ChatRequest, Finish, KeepAlive, Replace, Usage
from ..catalogue import Model
from ..data_uri import check_images
from ..errors import InvalidRequest, ProxyError, UpstreamError, UpstreamTimeout
from ..estimate import estimate_prompt_tokens, estimate_tokens
from ..http import OutboundRequest, Runtime
from ..pool import AttemptFailed, KeyFailedMidAnswer, KeyPool, Opened, open_with_failover, send_attempt, snippet
from ..settings import Config
from .bot_answer import Assembler
from .bot_events import Done, Ping, PoeErrorEvent, PoeEvent, is_meaningful, parse_event
from .bot_query import query_bytes, to_query
from .bot_uploads import upload_images
from .event_stream import EventStream, Watchdog, read_answer

__all__ = ["BotStream", "Watchdog", "classify_error_event", "open_answer", "open_bot"]

# Poe error types caused by the request itself: another key would fail the same way.
CLIENT_ERROR_TYPES = frozenset({"user_message_too_long", "user_caused_error", "privacy_authorization_error"})
# Poe's documented error types: only these are passed on as an error's code, never free text from upstream
KNOWN_ERROR_TYPES = CLIENT_ERROR_TYPES | {"insufficient_fund", "rate_limit", "rate_limit_exceeded", "bot_error", "server_error"}
# Poe's own wording for an exhausted key; generic words ("quota") from a bot's own backend must not cool keys.
_QUOTA = re.compile(r"enough (compute )?points|insufficient[ _]fund|out of (compute )?points|run out of (compute )?points", re.I)
# Only explicit rate-limit wording: "try again later" alone is a generic bot error, not a key problem.
_RATE = re.compile(r"rate[ _-]?limit|too many requests|slow down", re.I)
BotStream = EventStream[PoeEvent]


def classify_error_event(ev: PoeErrorEvent) -> AttemptFailed | ProxyError:
    """Map a Poe ``error`` event to a retryable failure or a client error."""
    text = snippet(ev.text) or "The bot reported an error."
    if ev.error_type in CLIENT_ERROR_TYPES:
        return InvalidRequest(f"Poe refused the request: {text}", code=ev.error_type)
    if ev.error_type == "insufficient_fund" or _QUOTA.search(ev.text):
        return AttemptFailed("out_of_points", "the Poe key is out of compute points")
    if ev.error_type in ("rate_limit", "rate_limit_exceeded") or _RATE.search(ev.text):
        return AttemptFailed("rate_limited", "the Poe key hit a rate limit")
    code = ev.error_type if ev.error_type in KNOWN_ERROR_TYPES else "upstream_error"
    return UpstreamError(f"The bot reported an error: {text}", code=code)


async def open_bot(rt: Runtime, url: str, key: str, body: bytes, *, connect_timeout: float, deadline: float) -> BotStream:
    """POST the query; return once the answer has started. Raises AttemptFailed or ProxyError."""
    request = OutboundRequest(
        "POST",
        url,
        {"authorization": f"Bearer {key}", "content-type": "application/json", "accept": "text/event-stream"},
        body,
    )
    response = await send_attempt(rt, request, connect_timeout)
    stream = BotStream(response, parse_event, lambda ev: isinstance(ev, Done))
    loop = asyncio.get_running_loop()
    first_event_timeout = max(0.0, deadline - loop.time())
    held: list[PoeEvent] = []
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                event = await stream.next()
                if event is None:
                    raise AttemptFailed("unavailable", "Poe closed the connection before answering")
                if isinstance(event, PoeErrorEvent):
                    raise classify_error_event(event)
                held.append(event)
                if is_meaningful(event) or isinstance(event, Done):
                    stream.push_front(held)
                    return stream
    except TimeoutError:
        # the request's whole TIMEOUT is spent and the bot is slow, not the key: no cool-down, no retry
        await stream.close()
        raise UpstreamTimeout(
            f"The bot did not start answering within the proxy's TIMEOUT ({first_event_timeout:g} s left)."
        ) from None
    except (AttemptFailed, ProxyError):
        await stream.close()
        raise
    except Exception as exc:  # the connection broke before the bot answered: another key may do
        await stream.close()
        raise AttemptFailed("unavailable", f"the connection to Poe broke before answering ({type(exc).__name__})") from None
    except BaseException:
        await stream.close()
        raise


async def open_answer(rt: Runtime, cfg: Config, pool: KeyPool, req: ChatRequest, model: Model) -> Opened[Batches]:
    """Fail over until the bot starts answering; then its answer as batches of canonical events."""
    message_id, conversation_id = secrets.token_hex(8), secrets.token_hex(8)
    url = f"{cfg.base_url}/bot/{model.bot}"
    # images are checked and decoded once, not again for every key tried
    decoded = check_images(req, cfg.max_image_bytes) if any(m.images for m in req.messages) else None

    async def attempt(key: str, connect_timeout: float, deadline: float) -> BotStream:
        # images go up with the key that will make the call (an upload failure fails over like a call)
        attachments = await upload_images(rt, cfg, req, key, decoded, deadline) if decoded is not None else {}
        body = query_bytes(to_query(req, attachments=attachments, message_id=message_id, conversation_id=conversation_id))
        return await open_bot(rt, url, key, body, connect_timeout=connect_timeout, deadline=deadline)

    opened = await open_with_failover(rt, cfg, pool, attempt)
    stream = opened.value
    stream.watch(cfg.timeout)
    asm = Assembler(max_tokens=req.max_tokens, split_reasoning=cfg.reasoning_split)
    translator = _BotTranslator(stream, asm, req, opened.on_failure)
    return Opened(read_answer(stream, translator, cfg.timeout), opened.key_index, opened.on_failure)


def _usage(req: ChatRequest, asm: Assembler) -> Usage:
    reasoning = estimate_tokens(asm.reasoning)
    calls = sum(estimate_tokens(c.name) + estimate_tokens(c.arguments) for c in asm.tool_calls)
    return Usage(estimate_prompt_tokens(req), estimate_tokens(asm.content) + reasoning + calls, reasoning)


def _bot_error(ev: PoeErrorEvent, on_failure: Callable[[AttemptFailed], None]) -> ProxyError:
    """An error event after the answer started: too late to fail over, not too late to cool the key."""
    err = classify_error_event(ev)
    if isinstance(err, ProxyError):
        return err
    on_failure(err)
    return KeyFailedMidAnswer(f"Poe stopped the answer: {err.detail}.", code=err.kind)


class _BotTranslator:
    """Poe's bot events -> canonical events, for ``read_answer``."""

    def __init__(self, stream: BotStream, asm: Assembler, req: ChatRequest, on_failure: Callable[[AttemptFailed], None]) -> None:
        self._stream, self._asm, self._req, self._on_failure = stream, asm, req, on_failure

    def step(self, ev: PoeEvent, batch: list[AnswerEvent]) -> bool:
        if isinstance(ev, Done):
            return True
        if isinstance(ev, Ping):
            batch.append(KeepAlive())
            return False
        if isinstance(ev, PoeErrorEvent):
            raise _bot_error(ev, self._on_failure)
        piece = self._asm.feed(ev)
        if isinstance(piece, Replace) or piece:
            batch.append(piece)
        return self._asm.finish_reason == "length"

    def ended_well(self) -> bool:
        return self._stream.saw_done

    def finish(self) -> list[AnswerEvent]:
        tail = self._asm.flush()
        return [*([tail] if tail else []), Finish(self._asm.final_reason(), _usage(self._req, self._asm))]
