"""Run the embedded product: the web server and a Celery worker (with beat) side by side.

The worker uses the filesystem transport configured when REDIS_URL is empty, so nothing
outside this machine's Python is needed.
"""

import os
import signal
import subprocess
import sys
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the demo on ADDRPORT with an in-process Celery worker and beat."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = None
        if not options["no_worker"]:
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "scrm",
                    "worker",
                    "--beat",
                    "--pool=solo",
                    "--loglevel=WARNING",
                    "--schedule",
                    os.path.join("var", "celerybeat-schedule"),
                ],
                env=os.environ.copy(),
            )
        # Stopped by a signal rather than Ctrl-C, still take the worker down with us.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            call_command("runserver", str(options["addrport"]), use_reloader=False)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
