# JuniperData service, CPU image: NumPy + Numba + JAX (CPU) backends, FastAPI on port 8100.
#   docker build -t juniper-data:cpu .
#   docker run -p 8100:8100 -v juniper-data:/data juniper-data:cpu
# Stage 1 builds the project's wheel; stage 2 installs only that wheel and its dependencies,
# so no source tree, tests or build tools end up in the image.

FROM python:3.12-slim-bookworm AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY juniper_data_core ./juniper_data_core
COPY juniper_data_service ./juniper_data_service
RUN python -m pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=builder /wheels /tmp/wheels
# The second install adds the stores several replicas share (JUNIPER_DATA_STORAGE=postgres|redis,
# JUNIPER_DATA_BLOB_URL=s3://...; compose.yaml's "replicas" profile).
RUN set -eux; \
    wheel="$(ls /tmp/wheels/juniper_data-*.whl)"; \
    python -m pip install "${wheel}[service,cpu]"; \
    python -m pip install "${wheel}[postgres,redis,blobs]"; \
    rm -rf /tmp/wheels; \
    groupadd --system --gid 10001 juniper; \
    useradd --system --uid 10001 --gid juniper --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin juniper; \
    mkdir -p /data; \
    chown juniper:juniper /data

# Listen on every interface inside the container (the settings' default is loopback only);
# keep datasets on the volume; JIT caches go to /tmp since site-packages is not writable.
ENV JUNIPER_DATA_HOST=0.0.0.0 \
    JUNIPER_DATA_PORT=8100 \
    JUNIPER_DATA_STORAGE_PATH=/data \
    NUMBA_CACHE_DIR=/tmp/numba-cache
VOLUME /data
USER juniper
WORKDIR /data
EXPOSE 8100

# The slim image has no curl: probe liveness with the standard library.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('JUNIPER_DATA_PORT', '8100'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/v1/health/live', timeout=4).status == 200 else 1)"]

CMD ["juniper-data", "serve"]
