"""Development and the embedded demo: SQLite and a filesystem Celery transport by default."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
