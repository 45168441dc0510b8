FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md celeryconfig.py ./
COPY etl_worker ./etl_worker
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["etl-worker"]
