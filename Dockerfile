# syntax=docker/dockerfile:1
#
# One image for all four Oslonac services (intake, cases, activation, reporting) and the
# one-shot `oslonac topics` command. Which service a container runs is chosen by its command:
#
#   oslonac serve <intake|cases|activation|reporting> --host 0.0.0.0 --port 8000
#
# Build from the repository root:  docker build -t oslonac:0.1.0 .
# Everything is installed at build time; the running image needs no internet access.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build stage: install the project and its dependencies into a virtualenv ---------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Only what `pip install .` needs (pyproject.toml names README.md as the readme).
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY oslonac ./oslonac
# A regular (non-editable) install: package data (migrations, templates, reference CSVs)
# is copied into site-packages, and .pyc files are compiled now rather than at run time.
RUN pip install . \
 && pip check

# --- runtime stage -------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="oslonac" \
      org.opencontainers.image.description="Oslonac services: intake, cases, activation, reporting" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OSLONAC_LOG_FORMAT=json \
    OSLONAC_DATA_DIR=/var/lib/oslonac

# Unprivileged user with a fixed uid/gid so Kubernetes can check runAsNonRoot.
RUN groupadd --system --gid 10001 oslonac \
 && useradd --system --uid 10001 --gid oslonac --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin oslonac \
 && install -d -o oslonac -g oslonac -m 0750 /var/lib/oslonac

# Code and dependencies stay owned by root: the service cannot modify them.
COPY --from=build /opt/venv /opt/venv

USER 10001:10001
WORKDIR /var/lib/oslonac

# Fail the build (not the deployment) if the console script cannot even start.
RUN oslonac --help > /dev/null

EXPOSE 8000

# No HEALTHCHECK here: the health path depends on the service (/<service>/health/ready),
# so docker-compose.yml and the Kubernetes probes define it per service.
CMD ["oslonac", "serve", "intake", "--host", "0.0.0.0", "--port", "8000"]
