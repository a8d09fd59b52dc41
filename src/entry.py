"""Cloudflare Worker entry point: hands every request, and every Cron Trigger, to the core."""

from workers import WorkerEntrypoint

from poe.edges.workers import Ledger, scheduled, serve

__all__ = ["Default", "Ledger"]  # Ledger: the Durable Object class of the POE_LEDGER binding (wrangler.toml)


class Default(WorkerEntrypoint):
    async def fetch(self, request):  # type: ignore[no-untyped-def]
        return await serve(request, self.env, self.ctx)

    async def scheduled(self, controller, env=None, ctx=None):  # type: ignore[no-untyped-def]
        # a class entrypoint is called with the controller alone (env and ctx are on self);
        # the older handler form also passes env and ctx
        await scheduled(controller, self.env if env is None else env, self.ctx if ctx is None else ctx)
