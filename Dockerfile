# Poe Proxy, self-hosted: the same core as the Worker, under uvicorn (README, "Self-hosted mode").
#
#   docker build -t poe-proxy .
#   docker run -d -p 8080:8080 -v poe-proxy-data:/data \
#     -e POE_APIKEYS=... -e API_ACCESS_TOKENS=... poe-proxy
#
# Settings come from environment variables (the names in README, Configuration) and/or
# /data/config.toml (see config.example.toml; environment variables win). Key cool-downs and
# the rotation counter are kept in /data/state.db, so a restart loses nothing.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml constraints-dev.txt README.md LICENSE ./
COPY src ./src
# the tested versions of uvicorn and httpx (constraints-dev.txt), into a prefix copied below
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
      --prefix=/install -c constraints-dev.txt '.[selfhost]'

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0
COPY --from=build /install /usr/local
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin poe \
    && mkdir /data && chown poe:poe /data
USER 10001:10001
# ./config.toml and the default state file state.db are looked for here
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# asks /health on the port the configuration gives (config.toml or PORT, default 8080)
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["poe-proxy", "--health-check"]
ENTRYPOINT ["poe-proxy"]
