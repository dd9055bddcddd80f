"""Run every benchmark and rewrite the results in docs/benchmarks.md.

    python -m benchmarks             all of them (several minutes)
    python -m benchmarks --quick     fewer and shorter repetitions
    python -m benchmarks --only registry_scale rpc_throughput
    python -m benchmarks --no-write  print the tables only

The results replace what lies between the ``benchmarks:start`` and
``benchmarks:end`` markers of docs/benchmarks.md; the text around them is kept.

Every figure in one table is measured in the same run, side by side, and
reported as a median: these machines are noisy.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import re
import shutil
import sys

from .common import ROOT, machine

# (module, title) in the order they appear in docs/benchmarks.md.
BENCHMARKS = [
    ("rpc_roundtrip", "RPC round trip: Grades.get_student against the stdlib peer and the limit"),
    ("registry_scale", "Registry: failure detection and fan-out"),
    ("registry_ha", "Several registries on etcd: failover, and latency against memory"),
    ("rpc_throughput", "JSON-RPC call rate and the HTTP server choice"),
    ("server_tradeoff", "The server's trade-offs: its limits, its request threads, the bare floor, hostile clients"),
    ("metrics_cost", "What /metrics costs: every call counted and timed"),
    ("client_calls", "One client thread: our Client, Pyro5, and the transports"),
    ("async_calls", "Many calls at once: 1,000 get_student from one asyncio task against 16 threads"),
    ("tls_cost", "What TLS costs per call"),
    ("log_ingest", "Log ingestion and the cost of logger.info()"),
    ("grading", "Grading at 10,000 students"),
    ("grading_bulk", "Grading: a CSV import against add_grade, and list_students, at 10,000 students"),
    ("portal_pages", "Portal pages and the portal's own overhead"),
    ("sign_in", "Signing in: Sessions.sign_in and Sessions.check latency"),
    ("portal_classes", "Signed-in pages at 10,000 students in 300 classes, and what the session check adds"),
    ("gradebook", "Gradebook: a class's grid, a column of 40 scores and a grid file, alone and among 10,000"),
    ("load_faults", "Load with faults: 60 s, 16 clients, each of two grading instances killed, log service stopped"),
]
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
# Where the results live: the README is the front door, the figures are in docs/.
RESULTS = ROOT / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repetitions")
    parser.add_argument("--only", nargs="+", choices=[name for name, _ in BENCHMARKS], help="run only these")
    parser.add_argument("--no-write", action="store_true", help=f"print, do not rewrite {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        print("benchmarks: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    chosen = [(name, title) for name, title in BENCHMARKS if not args.only or name in args.only]
    sections = [
        f"Measured {datetime.date.today().isoformat()} on {machine()}"
        f"{' (--quick)' if args.quick else ''} with `python -m benchmarks`."
    ]
    for name, title in chosen:
        print(f"== {title}", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        try:
            text = module.table(module.run(args.quick))
        except Exception as exc:  # e.g. no PostgreSQL here: say so in the table's place
            text = f"Not measured in this run: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        print(text, flush=True)
        sections.append(f"### {title}\n\n{text}")
    if args.no_write or args.only:
        if args.only and not args.no_write:
            print(f"({RESULTS.name} not rewritten: it holds the full run; drop --only to rewrite it)", file=sys.stderr)
        return 0
    text = RESULTS.read_text()
    block = f"{START}\n" + "\n\n".join(sections) + f"\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    RESULTS.write_text(text)
    print(f"{RESULTS.relative_to(ROOT)} rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
