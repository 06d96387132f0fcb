# syntax=docker/dockerfile:1
# One image for every Roadbed process: `api` (the default command), `worker` and `migrate` (docker-compose.yml).
#   docker build -t roadbed:0.1.0 .
# Stage 1 builds Roadbed's wheel and a wheel of every dependency; stage 2 installs them offline into a clean base,
# so no compiler, source tree or pip cache reaches the runtime image.

FROM python:3.11.13-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# only what the wheel is built from (.dockerignore keeps tests, caches and secrets out of the context)
COPY pyproject.toml README.md ./
COPY roadbed roadbed
COPY api api
COPY workflows workflows
COPY activities activities
COPY golden_paths golden_paths
COPY terraform_modules terraform_modules
RUN pip wheel --wheel-dir /wheels .

FROM python:3.11.13-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    ROADBED_HOME=/var/lib/roadbed \
    ROADBED_API_HOST=0.0.0.0 \
    ROADBED_API_PORT=8000
# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can check it and a mounted volume's owner is predictable.
# The data dir is created here, owned by that user, 0700: a named volume mounted on it starts with this owner.
RUN groupadd --system --gid 10001 roadbed \
 && useradd --system --uid 10001 --gid roadbed --home-dir /var/lib/roadbed --no-create-home --shell /usr/sbin/nologin roadbed \
 && install -d -o roadbed -g roadbed -m 0700 /var/lib/roadbed
# the wheels are bind-mounted from the build stage for this one step, never copied into a layer
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels roadbed
USER 10001:10001
WORKDIR /var/lib/roadbed
EXPOSE 8000
# Liveness of the API (the default command). The worker and migrate override it (docker-compose.yml): the worker
# serves no HTTP, migrate exits when done.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('ROADBED_API_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["roadbed"]
CMD ["api"]
