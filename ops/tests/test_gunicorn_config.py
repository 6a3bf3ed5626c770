"""gunicorn.conf.py: the production server's defaults and their environment variables."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_VARIABLES = {
    "BIND",
    "PORT",
    "WEB_CONCURRENCY",
    "GUNICORN_THREADS",
    "GUNICORN_WORKER_CLASS",
    "GUNICORN_WORKER_CONNECTIONS",
    "GUNICORN_KEEPALIVE",
    "GUNICORN_ACCESS_LOG",
    "GUNICORN_CONTROL_SOCKET",
}


def resolved_config(env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in GUNICORN_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--print-config"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    pairs = (line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return {name.strip(): value.strip() for name, value in pairs}


def test_defaults_are_the_measured_ones():
    """2 gthread workers x 8 threads, accepting only what their threads can take, loopback, no access log."""
    config = resolved_config({})
    assert config["wsgi_app"] == "courseplatform.wsgi:application"
    assert config["bind"] == "['127.0.0.1:8000']"
    assert config["worker_class"] == "gthread"
    assert config["workers"] == "2"
    assert config["threads"] == "8"
    assert config["worker_connections"] == "8"
    assert config["keepalive"] == "0"
    assert config["accesslog"] == "None"
    assert config["control_socket_disable"] == "True"


def test_environment_overrides():
    """PORT binds every interface, BIND wins over it; sizes, keep-alive and the access log follow the environment."""
    config = resolved_config(
        {
            "PORT": "9000",
            "WEB_CONCURRENCY": "3",
            "GUNICORN_THREADS": "4",
            "GUNICORN_WORKER_CONNECTIONS": "100",
            "GUNICORN_ACCESS_LOG": "-",
        }
    )
    assert config["bind"] == "['0.0.0.0:9000']"
    assert (config["workers"], config["threads"], config["worker_connections"]) == ("3", "4", "100")
    assert config["keepalive"] == "5"  # room for idle connections beyond the threads
    assert config["accesslog"] == "-"
    assert resolved_config({"PORT": "9000", "BIND": "unix:/run/app.sock"})["bind"] == "['unix:/run/app.sock']"
