"""The Python floor Worker (bench/README.md): the least Python code for each job.

UPSTREAM is the upstream's base URL; POST /handover<path> and /loop<path>
forward the request body to UPSTREAM + <path>.
"""

import asyncio

import js
from pyodide.ffi import create_proxy, to_js
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        req = request.js_object  # the JS Request: no wrapper in the way
        path = js.URL.new(req.url).pathname
        if path == "/trivial":
            return Response('{"ok":true}', headers={"content-type": "application/json"})
        job = "/handover" if path.startswith("/handover") else "/loop" if path.startswith("/loop") else None
        if job is None or req.method != "POST":
            return Response("not found", status=404)
        init = {
            "method": "POST",
            "headers": {
                "authorization": req.headers.get("authorization") or "",
                "content-type": req.headers.get("content-type") or "application/json",
            },
            "body": req.body,
        }
        upstream = await js.fetch(self.env.UPSTREAM + path[len(job) :], to_js(init, dict_converter=js.Object.fromEntries))
        headers = {"content-type": upstream.headers.get("content-type") or "application/octet-stream"}
        if job == "/handover":  # the upstream body handed to the response as it is
            return Response(upstream.body, status=upstream.status, headers=headers)

        # read/write loop: every upstream read handled in Python and written into the response stream
        stream = js.TransformStream.new()
        writer = stream.writable.getWriter()
        reader = upstream.body.getReader()

        async def pump():
            try:
                while True:
                    part = await reader.read()
                    if part.done:
                        break
                    await writer.write(to_js(part.value.to_bytes()))
            finally:
                await writer.close()

        task = asyncio.ensure_future(pump())
        proxy = create_proxy(task)
        task.add_done_callback(lambda _: proxy.destroy())
        self.ctx.waitUntil(proxy)
        return Response(stream.readable, status=upstream.status, headers=headers)
