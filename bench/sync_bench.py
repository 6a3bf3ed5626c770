"""Benchmark of `sync_content`: cold sync, no-op resync and one-file edit, on the real vault and one ten times its size.

    .venv/bin/python bench/sync_bench.py [--vault PATH] [--scale 10] [--baseline-rev main]

Starts its own throwaway PostgreSQL (devtools.pgcluster), migrates it, and for each vault runs a cold sync
into an empty registry with an empty parse cache, a resync with no file changed, and a resync after one lens
file was edited, each in a fresh process so that its peak memory (maximum resident set size) is its own
(DEBUG off, as in production). Both vaults are copies in a temporary folder (the real vault is never written
to): the large one clones the real vault's files `scale` times with fresh UUIDs, slugs and file names
(removed afterwards; never committed: the corpus is all-rights-reserved). Prints the figures and the ratios
of the resyncs to the cold sync of the same run; asserts nothing. With `--baseline-rev`, the cold and no-op
syncs of the real vault are also timed with the code of that git revision (exported into a temporary
folder), in the same run.

Goals on a 2-core machine: a no-op resync at most 15% of a cold sync, a one-file edit at most 20%, cold
sync of the real vault no slower than before the cache, peak memory of the 10x vault under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from devtools.corpus import real_vault  # noqa: E402

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
WIKILINK = re.compile(r"\[\[([^\[\]|#\n]+)")
SLUG_LINE = re.compile(r"^(slug|slug-aliases):(?!:)[ \t]*(\S.*)$", re.MULTILINE)
CLONE_NAMESPACE = uuid.UUID("8d0e6a52-3c1f-4b0e-9f5e-0b5e1c2a7d11")


def generate_vault(source: Path, target: Path, scale: int) -> None:
    """`scale` copies of `source` side by side, each with its own UUIDs, slugs and file names."""
    for copy in range(scale):
        suffix = f"~{copy}" if copy else ""
        for path in source.rglob("*"):
            if not path.is_file():
                continue
            relative = path.relative_to(source)
            name = relative.name
            if name.endswith(".timestamps.json"):
                new_name = name.removesuffix(".timestamps.json") + suffix + ".timestamps.json"
            elif name.endswith(".md"):
                new_name = name.removesuffix(".md") + suffix + ".md"
            else:
                new_name = name + suffix
            destination = target / relative.parent / new_name
            destination.parent.mkdir(parents=True, exist_ok=True)
            if not copy or not name.endswith(".md"):
                shutil.copyfile(path, destination)
                continue
            text = path.read_text(encoding="utf-8")
            text = UUID.sub(lambda m, c=copy: str(uuid.uuid5(CLONE_NAMESPACE, f"{c}:{m.group(0).lower()}")), text)
            text = WIKILINK.sub(lambda m, s=suffix: "[[" + _suffixed(m.group(1), s), text)
            text = SLUG_LINE.sub(lambda m, s=suffix: f"{m.group(1)}: {m.group(2).strip()}{s.replace('~', '-')}", text)
            destination.write_text(text, encoding="utf-8")


def _suffixed(target: str, suffix: str) -> str:
    stripped = target.rstrip()
    if stripped.endswith(".md"):
        return stripped[:-3] + suffix + ".md"
    return stripped + suffix


def run_phase(vault: Path, database_url: str, cache: Path, code: Path = ROOT) -> dict:
    """Run one sync in a fresh process (with the code at `code`); return its time, peak memory and summary.

    DEBUG is off, as in production: with it on, Django keeps the SQL of every statement, bodies and all.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "sync-bench-" + uuid.uuid4().hex,
        "CONTENT_CACHE_DIR": str(cache),
    }
    result = subprocess.run(
        [sys.executable, str(code / "bench" / "sync_bench.py"), "--phase", str(vault)],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def phase(vault: Path) -> None:
    """Child process: one sync, measured."""
    sys.path.insert(0, os.getcwd())  # the code being measured (a baseline revision runs from its own folder)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "courseplatform.settings")
    import django

    django.setup()
    from django.db import connection

    from content_loader.sync import sync_content

    connection.ensure_connection()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    report = sync_content(vault)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_mb": peak / 1024,
                "baseline_mb": before / 1024,
                "files": report.files,
                "items": sum(report.loaded.values()),
                "changes": report.changes,
                "summary": report.summary(),
            }
        )
    )


def _cpu_seconds() -> float:
    """CPU time of this process and its (forked) workers: less sensitive than wall time to a busy machine."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def edit_one_lens(vault: Path) -> Path:
    """Change one sentence of the first lens file with a Text segment (as an author would); return it."""
    for path in sorted((vault / "Lenses").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if "\ncontent::" in text and "wip" not in text.split("---", 2)[1]:
            path.write_text(text.replace("\ncontent::", "\ncontent:: An edited first sentence.", 1), encoding="utf-8")
            return path
    raise SystemExit(f"no lens with a Text segment in {vault}")


def truncate(database_url: str, code: Path = ROOT) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true"}
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import django,os,sys;sys.path.insert(0,os.getcwd());"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE','courseplatform.settings');"
            "django.setup();from django.db import connection;"
            "connection.cursor().execute('TRUNCATE content_loader_contentitem CASCADE')",
        ],
        cwd=code,
        env=env,
        check=True,
    )


def show(name: str, run: dict) -> None:
    print(
        f"  {name}  {run['seconds']:6.2f} s wall  {run['cpu_seconds']:6.2f} s CPU  "
        f"peak RSS {run['peak_mb']:5.0f} MB  | {run['summary']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vault", type=Path, default=real_vault(), help="default: ../shared/corpora/lens-edu-relay")
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--baseline-rev", help="also time the real vault with the code of this git revision")
    parser.add_argument(
        "--rounds", type=int, default=1, help="with --baseline-rev: cold syncs of each code, alternating (best kept)"
    )
    parser.add_argument("--phase", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        phase(args.phase)
        return
    if args.vault is None or not args.vault.is_dir():
        sys.exit(f"No vault at {args.vault} (set --vault or LENS_VAULT).")
    from devtools.pgcluster import ThrowawayPostgres

    with ThrowawayPostgres() as cluster, tempfile.TemporaryDirectory(prefix="sync-bench-") as temp:
        env = {**os.environ, "DATABASE_URL": cluster.url, "DEBUG": "true"}
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
        real, large = Path(temp) / "real", Path(temp) / "large"
        started = time.perf_counter()
        generate_vault(args.vault, real, 1)
        generate_vault(args.vault, large, args.scale)
        print(
            f"copied the real vault and generated one {args.scale}x its size in {time.perf_counter() - started:.1f} s"
        )
        own_colds: list[dict] = []
        base_colds: list[dict] = []
        if args.baseline_rev:
            baseline = Path(temp) / "baseline"
            baseline.mkdir()
            archive = subprocess.run(["git", "archive", args.baseline_rev], cwd=ROOT, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(baseline)], input=archive.stdout, check=True)
            (baseline / ".venv").symlink_to(ROOT / ".venv")
            # Alternating rounds of cold syncs (this code, then the baseline), so that both see the same load.
            for round_number in range(args.rounds):
                truncate(cluster.url)
                own_colds.append(run_phase(real, cluster.url, Path(temp) / f"cache-own-{round_number}"))
                truncate(cluster.url)
                cache = Path(temp) / f"cache-baseline-{round_number}"
                base_colds.append(run_phase(real, cluster.url, cache, baseline))
            noop = run_phase(real, cluster.url, cache, baseline)
            print(f"baseline {args.baseline_rev} on the real vault:")
            show("cold sync ", min(base_colds, key=lambda run: run["cpu_seconds"]))
            show("no-op sync", noop)
        results = []
        for label, vault in (("real vault", real), (f"{args.scale}x vault", large)):
            cache = Path(temp) / f"cache-{vault.name}"
            truncate(cluster.url)
            cold = run_phase(vault, cluster.url, cache)
            noop = run_phase(vault, cluster.url, cache)
            edited = edit_one_lens(vault)
            edit = run_phase(vault, cluster.url, cache)
            results.append((label, cold, noop, edit))
            print(f"{label}: {cold['files']} files, {cold['items']} items")
            show("cold sync ", cold)
            show("no-op sync", noop)
            show("1-file edit", edit)
            print(
                f"  no-op / cold = {noop['seconds'] / cold['seconds']:.0%} (goal <= 15%), "
                f"1-file edit ({edited.name}) / cold = {edit['seconds'] / cold['seconds']:.0%} (goal <= 20%)"
            )
        (_, small_cold, small_noop, _), (_, big_cold, big_noop, _) = results
        if base_colds:
            own = min([*own_colds, small_cold], key=lambda run: run["cpu_seconds"])
            base = min(base_colds, key=lambda run: run["cpu_seconds"])
            print(
                f"cold sync of the real vault, this code vs {args.baseline_rev} (best of {len(own_colds) + 1} and "
                f"{len(base_colds)}, alternating): {own['cpu_seconds']:.2f} vs {base['cpu_seconds']:.2f} s CPU "
                f"= {own['cpu_seconds'] / base['cpu_seconds']:.0%} (goal <= 100%); wall {own['seconds']:.2f} vs "
                f"{base['seconds']:.2f} s; peak {own['peak_mb']:.0f} vs {base['peak_mb']:.0f} MB"
            )
        print(f"load average during the run: {os.getloadavg()[0]:.1f} (other processes share this machine)")
        print(
            f"growth for {big_cold['files'] / small_cold['files']:.1f}x the files: "
            f"cold {big_cold['seconds'] / small_cold['seconds']:.1f}x, "
            f"no-op {big_noop['seconds'] / small_noop['seconds']:.1f}x"
        )


if __name__ == "__main__":
    main()
