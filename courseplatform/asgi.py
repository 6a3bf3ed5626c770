"""ASGI entry point (uvicorn, or gunicorn with GUNICORN_WORKER_CLASS=uvicorn_worker.UvicornWorker).

Measured against the gthread default by bench/tutor_bench.py (figures in the README's Production section).
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "courseplatform.settings")

application = get_asgi_application()

gc.freeze()  # as in wsgi.py: startup objects are not rescanned by the cyclic collector
