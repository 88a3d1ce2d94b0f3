# chatops: a small, non-root image running `chatops run`.
#   docker build -t chatops .
#   docker run --env-file .env -p 3000:3000 chatops chatops run --http --port 3000   # HTTP mode
#   docker run --env-file .env chatops                                               # Socket Mode
# Both modes answer GET /healthz on port 3000 inside the container (Socket Mode on 127.0.0.1 only), which the
# HEALTHCHECK below uses. State lives in DATABASE_URL: point it at PostgreSQL, or mount a volume on /data.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY integrations ./integrations
COPY prompts ./prompts
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-compile .

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/chatops.db \
    CHATOPS_LOG_FORMAT=json
RUN useradd --system --uid 10001 --user-group --home-dir /data --create-home chatops
COPY --from=build /opt/venv /opt/venv
USER chatops
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"]
CMD ["chatops", "run"]
