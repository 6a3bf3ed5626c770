"""Profile the course overview and the module viewer in-process on the real vault's largest course.

    .venv/bin/python bench/profile_pages.py [--requests 400] [--rounds 5] [--top 30] [--profile]

Starts a throwaway PostgreSQL, syncs the vault (../shared/corpora/lens-edu-relay or LENS_VAULT) and has
one anonymous learner complete half of its largest course (bench/harness.py), then calls the WSGI
application directly (no server, no network) for both pages as that learner, in alternating rounds, and
prints this process's CPU a request (PostgreSQL's not included) with learn.fragments keeping its parts and
keeping none (the pages as before it), and each page's query count. With --profile, where each page spends
its time (cProfile, sorted by own time).
"""

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import bench_database, load_average, seed_largest_course, setup_django
from bench.profile_api import environ
from devtools.corpus import real_vault


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests of each page, over the rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each page afterwards")
    args = parser.parse_args()

    with bench_database() as db:
        setup_django(db.url)
        from django.core.handlers.wsgi import WSGIHandler
        from django.db import connection
        from django.test.utils import CaptureQueriesContext
        from django.urls import reverse

        seeded = seed_largest_course(real_vault())
        course, lens = seeded.course, seeded.largest_module_entry
        pages = {
            "course overview": reverse("learn:course", args=[course.slug]),
            "module viewer": reverse(
                "learn:lens",
                kwargs={"course_slug": course.slug, "module_slug": lens.module.slug, "lens_id": lens.item_id},
            ),
        }
        app = WSGIHandler()

        def start_response(status, headers):
            assert status.startswith("200"), status

        def run(path: str, count: int) -> float:
            started = time.process_time()
            for _ in range(count):
                for _chunk in app(environ(path, "GET", b"", seeded.token), start_response):
                    pass
            return (time.process_time() - started) / count * 1e6

        for name, path in pages.items():
            run(path, 20)  # warm: imports, templates, the first render of each fragment
            with CaptureQueriesContext(connection) as queries:
                run(path, 1)
            print(f"{name}: {path} ({len(queries)} queries)")
        from content_loader.kept import memo

        # Alternating rounds with learn.fragments keeping its parts ("on") and keeping nothing ("off": every
        # part read and rendered again, the pages as they were before it, plus rendering each row apart).
        sides = [(name, kept) for name in pages for kept in (True, False)]
        rounds: dict[tuple[str, bool], list[float]] = {side: [] for side in sides}
        size = memo.size
        for number in range(args.rounds):
            for name, kept in sides if number % 2 == 0 else reversed(sides):
                memo.size = size if kept else 0
                memo.clear()
                run(pages[name], 1)  # fills it (on), or not (off)
                rounds[name, kept].append(run(pages[name], args.requests // args.rounds))
        memo.size = size
        print(
            f"\nLoad average {load_average():.2f}. Python CPU a request (median of {args.rounds} alternating rounds):"
        )
        print(f"  {'page':<16} {'kept':>8} {'not kept':>9}  (µs; PostgreSQL's CPU not included)")
        for name in pages:
            on, off = (sorted(rounds[name, kept])[args.rounds // 2] for kept in (True, False))
            print(f"  {name:<16} {on:8.0f} {off:9.0f}  ratio {on / off:.0%}")
        if not args.profile:
            return
        for name, path in pages.items():
            print(f"\n=== {name} ===")
            profiler = cProfile.Profile()
            profiler.enable()
            run(path, args.requests // args.rounds)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
