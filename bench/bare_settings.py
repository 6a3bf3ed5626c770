"""Settings for the bare-view floor of the benchmarks: the project's settings without middleware."""

from courseplatform.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare"
MIDDLEWARE = []
