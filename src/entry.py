"""Cloudflare Worker entry point: hands every request to the core."""

from workers import WorkerEntrypoint

from poe.edges.workers import serve


class Default(WorkerEntrypoint):
    async def fetch(self, request):  # type: ignore[no-untyped-def]
        return await serve(request, self.env, self.ctx)
