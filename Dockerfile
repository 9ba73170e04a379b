# syntax=docker/dockerfile:1
# One image for every MailPass component; the chart runs it with a different command each
# (mailpass-gateway, mailpass-sender, mailpass-tracker, mailpass-webhooks,
# mailpass-scheduler flush, mailpass).
#
# The base is pinned to an exact Python release; release builds pin its digest as well:
#   docker build --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest> .
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- build: a virtual environment with the locked dependencies and MailPass itself ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
RUN python -m pip install uv==0.13.9 \
 && python -m venv /opt/mailpass
WORKDIR /src
# Dependencies from the runtime lock alone (exact versions, nothing resolved here), in a
# layer of their own that is rebuilt only when the lock changes.
COPY requirements-runtime.lock ./
RUN uv pip install --python /opt/mailpass/bin/python --no-deps -r requirements-runtime.lock
COPY pyproject.toml ./
COPY libs ./libs
COPY cli ./cli
COPY services ./services
RUN uv pip install --python /opt/mailpass/bin/python --no-deps .

# --- runtime: the base image, the virtual environment and an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
# UID and GID 10001: the chart's runAsUser and runAsGroup.
RUN groupadd --system --gid 10001 mailpass \
 && useradd --system --uid 10001 --gid mailpass --home-dir /tmp --no-create-home \
      --shell /usr/sbin/nologin mailpass
COPY --from=build /opt/mailpass /opt/mailpass
# The chart mounts the root filesystem read-only: everything that writes (Python's
# tempfile, libraries that want a HOME) goes to /tmp, an emptyDir there. Bytecode was
# compiled at build time, so the interpreter never tries to write it.
ENV PATH=/opt/mailpass/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
USER 10001:10001
EXPOSE 8000 8001 9100 9101 9102
CMD ["mailpass", "--help"]
