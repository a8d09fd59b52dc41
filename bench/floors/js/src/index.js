// The JS floor Worker (bench/README.md). UPSTREAM is the upstream's base URL;
// POST /handover<path> and /loop<path> forward the request body to UPSTREAM + <path>.
export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === "/trivial") {
      return Response.json({ ok: true });
    }
    const job = pathname.startsWith("/handover") ? "/handover" : pathname.startsWith("/loop") ? "/loop" : null;
    if (job === null || request.method !== "POST") {
      return new Response("not found", { status: 404 });
    }
    const upstream = await fetch(env.UPSTREAM + pathname.slice(job.length), {
      method: "POST",
      headers: {
        authorization: request.headers.get("authorization") ?? "",
        "content-type": request.headers.get("content-type") ?? "application/json",
      },
      body: request.body,
    });
    const headers = { "content-type": upstream.headers.get("content-type") ?? "application/octet-stream" };
    if (job === "/handover") {
      // the upstream body handed to the response as it is
      return new Response(upstream.body, { status: upstream.status, headers });
    }
    // read/write loop: every upstream read written from code into the response stream
    const { readable, writable } = new TransformStream();
    const writer = writable.getWriter();
    const reader = upstream.body.getReader();
    ctx.waitUntil(
      (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            await writer.write(value);
          }
        } finally {
          await writer.close();
        }
      })(),
    );
    return new Response(readable, { status: upstream.status, headers });
  },
};
