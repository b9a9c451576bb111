# The Social CRM image: one image for the web, migrate, worker and beat services of
# docker-compose.yml. Production settings (scrm.settings.prod), run as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=scrm.settings.prod \
    SCRM_VAR_DIR=/app/var

WORKDIR /app

RUN groupadd --system --gid 10001 scrm \
    && useradd --system --uid 10001 --gid scrm --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin scrm

# Dependencies first, so that a code change does not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are collected into the image (WhiteNoise serves them). The production
# settings refuse to load without secrets, so this one command gets throw-away values:
# they exist only in this RUN step's environment, never in the image's.
RUN SECRET_KEY=build-only-collectstatic-not-a-secret-0000000000000000000000 \
    FIELD_ENCRYPTION_KEY=YnVpbGQtb25seS1kdW1teS1rZXktbm90LXNlY3JldCE= \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL= \
    REDIS_URL= \
    SCRM_VAR_DIR=/tmp/scrm-build \
    python manage.py collectstatic --noinput -v0 \
    && rm -rf /tmp/scrm-build \
    && mkdir -p /app/var/beat \
    && chown -R scrm:scrm /app/var

USER scrm

EXPOSE 8000

# gunicorn.conf.py: bind 0.0.0.0:8000, WEB_CONCURRENCY workers, logs to stdout.
CMD ["gunicorn", "scrm.wsgi", "--config", "gunicorn.conf.py"]
