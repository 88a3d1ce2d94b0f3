# chatops: a small, non-root image running `chatops run`.
#   docker build -t chatops .                       (Podman / buildah: add --format docker to keep the HEALTHCHECK)
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
# The runtime venv gets no pip, setuptools or pkg_resources (the build image's pip installs into it), and its
# bytecode is compiled here, so a start imports .pyc files instead of compiling every module.
RUN python -m venv --without-pip /opt/venv \
 && pip --python /opt/venv/bin/python install . \
 && python -m compileall -q -j 0 /opt/venv/lib

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite:////data/chatops.db \
    CHATOPS_LOG_FORMAT=json
# A fixed, numeric uid:gid (Kubernetes' runAsNonRoot needs a number) owning an empty /data (no skeleton dotfiles
# in the volume); the official image ships the standard library without bytecode: compile it once here rather
# than at every start (sysconfig names its directory: /usr/local/lib/python3.11 in the official image).
RUN groupadd --gid 10001 chatops \
 && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin chatops \
 && install -d -o 10001 -g 10001 /data \
 && python -m compileall -q -j 0 "$(python -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
COPY --from=build /opt/venv /opt/venv
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 3000
# Exit 0 on 200; on a 503 (database down), a refused connection or a timeout: one line and exit 1, no traceback.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-m", "bot.healthcheck", "http://127.0.0.1:3000/healthz"]
CMD ["chatops", "run"]
