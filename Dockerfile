FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md celeryconfig.py ./
COPY infra ./infra
COPY indicators ./indicators
COPY providers ./providers
COPY tradeentry ./tradeentry
COPY mtf ./mtf
COPY schedules ./schedules
RUN pip install . && useradd --create-home --uid 10001 mtf
# Named volumes mounted here start with this ownership: the metrics folder and Flower's state.
RUN mkdir -p /var/lib/mtf/metrics /var/lib/flower && chown mtf /var/lib/mtf/metrics /var/lib/flower
USER mtf
CMD ["mtf", "--help"]
