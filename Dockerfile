FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md celeryconfig.py ./
COPY etl_worker ./etl_worker
RUN pip install --no-cache-dir .
# The image runs as nobody: its data directory (beat's schedule, ETL_HOME) and the drop folder are
# nobody's, so a named volume mounted there starts writable, and the watcher can move rejected files.
ENV ETL_HOME=/var/lib/etl_worker
RUN mkdir -p /var/lib/etl_worker /drop && chown nobody:nogroup /var/lib/etl_worker /drop && chmod 0700 /var/lib/etl_worker
USER nobody
ENTRYPOINT ["etl-worker"]
