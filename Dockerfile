# facilitator-bot, for `docker compose up` (see docker-compose.yml and deploy/config.toml).
FROM python:3.11-slim

# No .pyc files in the image's layers; logs reach `docker compose logs` at once.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
RUN pip install --no-cache-dir . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin facilitator

# The bot runs unprivileged; its configuration is mounted at /config.
USER facilitator
ENTRYPOINT ["facilitator"]
CMD ["run", "--config", "/config/config.toml"]
