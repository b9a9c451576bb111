"""Gunicorn settings for the web container (`gunicorn scrm.wsgi`).

Each value can be changed with an environment variable, so the same image serves small
and large sites. See docs/operations.md for sizing.
"""

import os

# Inside the container the proxy reaches gunicorn over the compose network.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# Heartbeat files in memory: a container's disk may be slow or read-only.
worker_tmp_dir = "/dev/shm"  # noqa: S108
# Nobody drives gunicorn through its control socket here; do not create one.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
