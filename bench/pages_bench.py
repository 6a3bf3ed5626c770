"""Benchmark of the learner pages on the real vault's largest course, through gunicorn on PostgreSQL.

    .venv/bin/python bench/pages_bench.py [VAULT] [--seconds 10] [--connections 16] [--workers 3]

Starts a throwaway PostgreSQL, migrates, syncs the vault (read in place; default
../shared/corpora/lens-edu-relay), picks the course with the most lenses, and has one anonymous learner
(X-Session-Token) complete half of its required lenses. Then loads, with wrk, the course overview and the
module viewer (a lens of that course's largest module) as that learner, and prints requests per second,
p50 and p99 of each.
"""

import argparse
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import LUA, Scenario, Server, bench_database, seed_largest_course, setup_django, wrk
from devtools.corpus import real_vault

ROOT = Path(__file__).resolve().parent.parent


def seed(vault: Path, tokens_file: Path) -> dict:
    """Sync the vault, pick its largest course and complete half of it for one anonymous learner."""
    from django.urls import reverse

    seeded = seed_largest_course(vault)
    tokens_file.write_text(f"{seeded.token}\n")
    course, lens = seeded.course, seeded.largest_module_entry
    return {
        "course": course,
        "modules": len(seeded.module_ids),
        "lenses": len(seeded.entries),
        "required": len(seeded.required),
        "completed": seeded.completed,
        "largest": lens.module,
        "largest_size": sum(entry.module_id == lens.module_id for entry in seeded.entries),
        "overview_path": reverse("learn:course", args=[course.slug]),
        "lens_path": reverse(
            "learn:lens",
            kwargs={"course_slug": course.slug, "module_slug": lens.module.slug, "lens_id": lens.item_id},
        ),
    }


def check_pages(base: str, info: dict, token: str) -> None:
    """Both pages answer 200 with the learner's progress before any load is measured."""
    for path, expected in ((info["overview_path"], "In progress"), (info["lens_path"], "required lenses")):
        request = urllib.request.Request(base + path, headers={"X-Session-Token": token})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read().decode()
        if response.status != 200 or expected not in body:
            raise SystemExit(f"{path} answered {response.status} without {expected!r}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("vault", nargs="?", type=Path, default=real_vault())
    parser.add_argument("--seconds", type=float, default=10, help="length of each measured round")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds per page; the best is kept")
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    if args.vault is None or not args.vault.is_dir():
        raise SystemExit(f"No vault at {args.vault} (give a path, or set LENS_VAULT).")

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp, bench_database() as db:
        setup_django(db.url)
        tokens = Path(tmp) / "tokens.txt"
        info = seed(args.vault, tokens)
        print(
            f"Course {info['course'].slug!r}: {info['modules']} modules, {info['lenses']} lenses and tests "
            f"({info['required']} required, {info['completed']} completed by the learner); "
            f"module page: {info['largest'].slug!r} ({info['largest_size']} steps). "
            f"{os.cpu_count()} cores, gunicorn sync x {args.workers} workers, {args.connections} clients."
        )
        env = {"BENCH_LUA_DIR": str(LUA), "BENCH_TOKENS": str(tokens)}
        scenarios = [
            Scenario("GET course overview", "get.lua", info["overview_path"], env),
            Scenario("GET module viewer (lens)", "get.lua", info["lens_path"], env),
        ]
        with Server(db, workers=args.workers) as app:
            check_pages(app.url, info, tokens.read_text().strip())
            header = f"{'page':<26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
            print(header)
            print("-" * len(header))
            for scenario in scenarios:
                wrk(app, scenario, connections=args.connections, seconds=args.warmup)
                runs = [
                    wrk(app, scenario, connections=args.connections, seconds=args.seconds) for _ in range(args.rounds)
                ]
                best = max(runs, key=lambda run: run.rps)
                print(f"{scenario.name:<26} {best.rps:>8.0f} {best.p50_ms:>8.2f} {best.p99_ms:>8.2f} {best.errors:>7}")


if __name__ == "__main__":
    main()
