"""Profile one API endpoint in-process: the full WSGI stack against the bare view, on a throwaway PostgreSQL.

    .venv/bin/python bench/profile_api.py [--requests 3000] [--endpoint time|complete|course] [--top 25]

Calls the WSGI application directly (no server, no network) so that the numbers are Django's and the
SQL's alone: prints microseconds per request for the application and for the bare view of bench/bare.py,
then the functions where the application spends its time (cProfile, sorted by own time).
"""

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bench_database, setup_django


def environ(path: str, method: str, body: bytes, token: str) -> dict:
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_SESSION_TOKEN": token,
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--endpoint", default="time", choices=["time", "complete", "course"])
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="tottime", help="cProfile sort key: tottime, cumulative, ...")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of requests/rounds each")
    parser.add_argument("--tokens", type=int, default=200, help="anonymous learners the requests cycle through")
    parser.add_argument("--real", action="store_true", help="the real vault's largest module instead of a small one")
    args = parser.parse_args()

    with bench_database() as db:
        setup_django(db.url)
        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler
        from django.test.utils import override_settings

        from content_loader.tests.factories import make_course, make_module

        if args.real:
            from bench.harness import seed_largest_course
            from devtools.corpus import real_vault

            seeded = seed_largest_course(real_vault())
            entry = seeded.largest_module_entry
            module, course = entry.module, seeded.course
            lens_ids = [
                str(e.item_id) for e in seeded.entries if e.module_id == module.pk and e.item.content_type == "lens"
            ]
        else:
            module = make_module(lenses=6, optional=2)
            course = make_course(units=[[module, make_module(lenses=6)]])
            lens_ids = [str(e.item_id) for e in module.module_entries.all()]
        tokens = [str(uuid.uuid4()) for _ in range(args.tokens)]

        def request_for(i: int, floor: bool = False) -> tuple[str, str, bytes, str]:
            token = tokens[i % len(tokens)]
            lens = lens_ids[i % len(lens_ids)]
            if args.endpoint == "time":
                return (
                    "/api/progress/time",
                    "POST",
                    json.dumps({"content_id": lens, "time_delta_s": 30}).encode(),
                    token,
                )
            if args.endpoint == "complete":
                body = {"content_id": lens, "content_type": "lens", "module_slug": module.slug}
                path = "/floor/progress/complete" if floor else "/api/progress/complete"
                return path, "POST", json.dumps(body).encode(), token
            return f"/api/courses/{course.slug}/progress", "GET", b"", token

        def run(handler, count: int, floor: bool = False) -> float:
            def start_response(status, headers):
                assert status[:1] in "23", status

            started, cpu_started = time.perf_counter(), time.process_time()
            for i in range(count):
                for _chunk in handler(environ(*request_for(i, floor)), start_response):
                    pass
            cpu_us.setdefault(handler, []).append((time.process_time() - cpu_started) / count * 1e6)
            return (time.perf_counter() - started) / count * 1e6

        cpu_us: dict = {}  # per handler, this process's CPU a request of each round (PostgreSQL's not included)

        app = WSGIHandler()
        with override_settings(ROOT_URLCONF="bench.bare", MIDDLEWARE=[]):
            bare = WSGIHandler()
        sides = {"app": (app, False), "bare": (bare, False)}
        if args.endpoint == "complete":
            sides["floor"] = (bare, True)

        def measure(side: str, count: int) -> float:
            handler, floor = sides[side]
            if handler is app:
                return run(app, count, floor)
            with override_settings(ROOT_URLCONF="bench.bare", MIDDLEWARE=[]):
                return run(handler, count, floor)

        # Alternating rounds (other jobs share the cores): the median round of each side is reported.
        for side in sides:
            measure(side, 300)
        rounds: dict[str, list[float]] = {side: [] for side in sides}
        for number in range(args.rounds):
            for side in sides if number % 2 == 0 else reversed(list(sides)):
                rounds[side].append(measure(side, args.requests // args.rounds))
        app_us, bare_us = (sorted(rounds[side])[len(rounds[side]) // 2] for side in ("app", "bare"))
        floor_us = sorted(rounds["floor"])[args.rounds // 2] if "floor" in rounds else 0.0
        print(f"load average {Path('/proc/loadavg').read_text().split()[0]}; rounds (µs): {rounds}")
        print(f"{args.endpoint}: application {app_us:.0f} µs/request, bare view {bare_us:.0f} µs/request")
        print(f"ratio of rates {bare_us / app_us:.0%} (settings: DEBUG={settings.DEBUG})")
        app_cpu, bare_cpu = (sorted(cpu_us[handler])[len(cpu_us[handler]) // 2] for handler in (app, bare))
        print(
            f"Python CPU a request (median round, steadier under load): application {app_cpu:.0f} µs, "
            f"bare {bare_cpu:.0f} µs (with the floor, if any): the application adds {app_cpu - bare_cpu:.0f} µs"
        )
        if args.endpoint == "complete":
            print(f"SQL floor (bench/bare.py complete_floor) {floor_us:.0f} µs/request: ratio {floor_us / app_us:.0%}")
        print()

        profiler = cProfile.Profile()
        profiler.enable()
        run(app, args.requests)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
