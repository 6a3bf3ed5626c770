"""Benchmark of the progress API through gunicorn on PostgreSQL, next to bare views issuing the same SQL.

    .venv/bin/python bench/api_bench.py [--seconds 10] [--connections 16] [--workers 3] ...

Starts a throwaway PostgreSQL, migrates, seeds a course, starts gunicorn twice (the application, and the
bare views of bench/bare.py), and loads the anonymous heartbeat, completion and course-progress endpoints
with wrk. Prints requests per second, p50 and p99 of each, the bare-view floor, and their ratio. Goal: the
heartbeat reaches at least 80% of the bare-view rate with p99 under 15 ms at 16 clients.
"""

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (
    LUA,
    Scenario,
    Server,
    bench_database,
    compare,
    load_average,
    machine,
    print_rounds,
    print_table,
    setup_django,
)


def seed(directory: Path, *, learners: int) -> tuple[str, Path, Path]:
    """A course of 4 units x 3 modules x 8 lenses (2 optional); returns its slug and the input files."""
    from content_loader.tests.factories import make_course, make_module

    units = [[make_module(lenses=6, optional=2) for _ in range(3)] for _ in range(4)]
    course = make_course(units=units, slug="bench-course")
    items = directory / "items.txt"
    items.write_text(
        "".join(
            f"{entry.item_id} {module.slug}\n"
            for unit in units
            for module in unit
            for entry in module.module_entries.all()
        )
    )
    tokens = directory / "tokens.txt"
    tokens.write_text("".join(f"{uuid.uuid4()}\n" for _ in range(learners)))
    return course.slug, items, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5, help="length of each measured round")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="alternating app/bare rounds; medians are reported")
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--learners", type=int, default=1000, help="anonymous tokens the load picks from")
    parser.add_argument("--only", default="", help="comma-separated endpoints to run: time, complete, course")
    parser.add_argument("--durable", action="store_true", help="PostgreSQL with fsync and synchronous commit")
    args = parser.parse_args()
    load_before = load_average()

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, bench_database(durable=args.durable) as db:
        setup_django(db.url)
        course_slug, items, tokens = seed(Path(tmp), learners=args.learners)
        env = {"BENCH_LUA_DIR": str(LUA), "BENCH_TOKENS": str(tokens), "BENCH_ITEMS": str(items)}
        scenarios = [
            Scenario("POST /api/progress/time", "heartbeat.lua", "/api/progress/time", env),
            Scenario("POST /api/progress/complete", "complete.lua", "/api/progress/complete", env),
            Scenario("GET /api/courses/…/progress", "get.lua", f"/api/courses/{course_slug}/progress", env),
        ]
        if args.only:
            wanted = args.only.split(",")
            scenarios = [s for s, key in zip(scenarios, ["time", "complete", "course"], strict=True) if key in wanted]
        server = {"workers": args.workers, "worker_class": args.worker_class, "threads": args.threads}
        with Server(db, **server) as app, Server(db, settings="bench.bare_settings", **server) as bare:
            rows = [
                compare(
                    scenario,
                    scenario,
                    app=app,
                    bare=bare,
                    connections=args.connections,
                    seconds=args.seconds,
                    warmup=args.warmup,
                    rounds=args.rounds,
                )
                for scenario in scenarios
            ]
            described = app.description

    print(f"\nMachine: {machine()}")
    print(
        f"Server: {described}; PostgreSQL throwaway cluster ({'durable' if args.durable else 'fsync off'}), "
        f"persistent connections; {args.connections} clients; median of {args.rounds} alternating {args.seconds:g} s "
        f"rounds; load average before {load_before:.2f}, after {load_average():.2f}\n"
    )
    print_table(rows)
    print_rounds(rows)
    print(
        "\nratio: application req/s over bare req/s, median of the paired rounds. CPU µs: CPU time of gunicorn\n"
        "and PostgreSQL per request; CPU ratio: bare over application, the throughput ratio on an idle machine."
    )
    heartbeat = next((row for row in rows if row.scenario.endswith("/time")), None)
    if heartbeat is not None:
        met = min(heartbeat.ratio, heartbeat.cpu_ratio) >= 0.8 and heartbeat.app.p99_ms < 15
        print(
            f"Heartbeat goal (>= 80% of the bare rate, p99 < 15 ms at {args.connections} clients): "
            f"ratio {heartbeat.ratio:.0%}, CPU ratio {heartbeat.cpu_ratio:.0%}, p99 {heartbeat.app.p99_ms:.1f} ms "
            f"-> {'met' if met else 'NOT met'}"
        )


if __name__ == "__main__":
    main()
