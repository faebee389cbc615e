# Factledger's HTTP API in a container (docs/containers.md).
#
#   docker build -t factledger .
#   docker run -p 8000:8000 -v factledger-data:/data factledger
#
# On SQLite by default, the ledger in the volume at /data; set
# FACTLEDGER_DATABASE_URL for PostgreSQL (compose.yaml does).

# The wheel, built from the work tree as pip builds it for anyone, and
# installed with its dependencies into a virtual environment.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/factledger \
    && /opt/factledger/bin/pip install /wheels/factledger-*.whl

# The virtual environment alone, run by a user of its own.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --create-home factledger \
    && mkdir /data \
    && chown factledger:factledger /data
COPY --from=build /opt/factledger /opt/factledger
ENV PATH=/opt/factledger/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    FACTLEDGER_DATABASE_URL=sqlite:////data/factledger.db
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["factledger", "serve", "--host", "0.0.0.0"]
