"""Scheduled work (a Cron Trigger on Workers, a background task self-hosted): to be filled in.

``run(rt, app)`` refreshes what the proxy learns from Poe on a schedule rather than per
request: the model catalogue and the keys' point balances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .http import Runtime

if TYPE_CHECKING:
    from .app import App

__all__ = ["run"]


async def run(rt: Runtime, app: App) -> None:
    """One scheduled pass."""
    return None
