"""gunicorn's configuration for production: `gunicorn -c gunicorn.conf.py` (`make serve` runs it).

Every value comes from the environment, with defaults measured on a 2-core machine by
`bench/serving_bench.py` (figures in the README's Production section). Command-line options win over
this file.
"""

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value else default


# BIND (one address or several, comma-separated) wins; else PORT on every interface (what container
# platforms expect); else the loopback, for a reverse proxy on the same host.
if os.environ.get("BIND"):
    bind = [address.strip() for address in os.environ["BIND"].split(",") if address.strip()]
elif os.environ.get("PORT"):
    bind = [f"0.0.0.0:{os.environ['PORT']}"]
else:
    bind = ["127.0.0.1:8000"]

# Threads, because a streamed tutor reply holds its worker for as long as it streams: a sync worker is
# blocked (and killed after `timeout`), a thread only waits. Measured on 2 cores: two processes use both
# cores (more add no throughput, only latency), and 8 threads each keep short requests flowing while up
# to 8 replies stream (4 threads served nothing with 8 streams). Each thread keeps its own database
# connection, so one server uses up to workers x threads connections.
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 8)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
# An ASGI worker class (uvicorn_worker.UvicornWorker) serves the ASGI application; the others the WSGI one.
wsgi_app = "courseplatform.asgi:application" if "uvicorn" in worker_class.lower() else "courseplatform.wsgi:application"
# A gthread worker accepts connections while it holds fewer than this, and queues them for its threads
# even when every thread is busy streaming. With as many connections as threads, a worker whose threads
# are all busy stops accepting and the other workers take the new requests; the price is no keep-alive
# (a new connection per request, which a learner's heartbeats a minute apart need anyway).
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", threads)
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Keep-alive needs room for connections beyond the threads (see worker_connections).
keepalive = _int("GUNICORN_KEEPALIVE", 5 if worker_connections > threads else 0)

# The application logs one JSON line per request (ops.middleware.RequestLogMiddleware), so gunicorn's
# access log is off unless GUNICORN_ACCESS_LOG names a file ("-" for standard output).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# gunicorn's control socket lives at one path per user, so a second server on the same host (tests,
# benchmarks, a second instance) would take it over; enable it with GUNICORN_CONTROL_SOCKET=path.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True
