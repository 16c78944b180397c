# mockserver for a shared deployment (README: "Shared deployment"): the server with the
# PostgreSQL driver, as a non-root user, checking its own /_mock/health.
#   docker build -t mockserver .
#   docker run -p 8080:8080 -e MOCKSERVER_DB=postgresql://... -e MOCKSERVER_ADMIN_TOKEN=... mockserver
# PYTHON_IMAGE: another Debian-based Python 3.11 image with pip, where Docker Hub is out of
# reach (tests/container/check.sh builds one from Debian's packages).
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY mockserver ./mockserver
COPY schemas ./schemas
COPY fixtures ./fixtures
RUN pip wheel --no-cache-dir --no-deps -w /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MOCKSERVER_HOST=0.0.0.0 MOCKSERVER_PORT=8080
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/*.whl)[postgresql]" && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --create-home mockserver
USER mockserver
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/_mock/health', timeout=2).status != 200)"]
ENTRYPOINT ["mockserver", "serve"]
