"""Keep a seeded random sample of a cosmic-ray session's pending mutants (the rest are dropped).

A whole run of every operator over these modules is several thousand mutants at several
seconds each; a fixed sample gives a score with a known error bar in an hour or so.

    python mutation/sample.py SESSION.sqlite N [--seed 17]
"""

from __future__ import annotations

import argparse
import random
import sqlite3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("session", help="the .sqlite file made by `cosmic-ray init`")
    parser.add_argument("n", type=int, help="mutants to keep")
    parser.add_argument("--seed", type=int, default=17, help="the sample's seed (default 17)")
    args = parser.parse_args()
    with sqlite3.connect(args.session) as db:
        pending = sorted(
            row[0]
            for row in db.execute(
                "SELECT job_id FROM work_items WHERE job_id NOT IN (SELECT job_id FROM work_results)"
            )
        )
        keep = set(random.Random(args.seed).sample(pending, min(args.n, len(pending))))
        drop = [(job,) for job in pending if job not in keep]
        db.executemany("DELETE FROM mutation_specs WHERE job_id = ?", drop)
        db.executemany("DELETE FROM work_items WHERE job_id = ?", drop)
    print(f"kept {len(keep)} of {len(pending)} pending mutants")


if __name__ == "__main__":
    main()
