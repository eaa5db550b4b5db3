# gongkai 政务公开 — one image for every service; the command chooses the process:
#   docker run IMAGE serve applications      (HTTP API + relay of one service)
#   docker run IMAGE worker applications     (projections of one service, fed from Kafka)
#   docker run IMAGE token issue --org shangdang --role auditor --sub liu-min
# Multi-stage: dependencies are built in `build` (with compilers), the runtime stage
# holds the virtualenv and the source only, and runs as an unprivileged user.

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml constraints.txt ./
# The runtime dependencies of pyproject.toml, pinned by constraints.txt (dev tools excluded).
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install -c constraints.txt -r requirements.txt

FROM python:${PYTHON_VERSION}-slim AS runtime
LABEL org.opencontainers.image.title="gongkai" \
      org.opencontainers.image.description="政务公开 event-sourced service suite" \
      org.opencontainers.image.source="https://github.com/gongkai/gongkai"
RUN groupadd --system --gid 10001 gongkai \
    && useradd --system --uid 10001 --gid gongkai --home-dir /app --shell /usr/sbin/nologin gongkai
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root shared/ shared/
COPY --chown=root:root services/ services/
COPY --chown=root:root gongkai/ gongkai/
COPY --chown=root:root deploy/demo/ deploy/demo/
COPY --chown=root:root contracts/ contracts/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GONGKAI_HOST=0.0.0.0 \
    GONGKAI_PORT=8000 \
    GONGKAI_VAR_DIR=/tmp/gongkai \
    GONGKAI_LOG_FORMAT=json
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('GONGKAI_PORT', '8000'), timeout=2)"]
ENTRYPOINT ["python", "-m", "gongkai.cli"]
CMD ["serve", "applications"]
