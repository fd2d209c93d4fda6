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
USER mtf
CMD ["mtf", "--help"]
