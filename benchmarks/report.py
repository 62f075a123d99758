"""Turn a pytest-benchmark JSON run into the tables and plots of docs/benchmarks.md.

    python benchmarks/report.py benchmarks/results/cpu2-x86_64.json --out docs/

Writes the generated part of ``<out>/benchmarks.md`` (between the ``BEGIN GENERATED``
and ``END GENERATED`` markers, leaving the hand-written text around them alone; the
whole file if it has no markers) and PNG plots under ``<out>/img/``. Every figure is
a median of one run; every ratio compares medians measured in that same run:

- ns/row per generator x backend x size, for each kind of work (``contract``: the
  whole dataset; ``full``: X_full/y_full alone; ``split``: the shuffled rows alone);
- the ratio to each peer in the same group (``peer median / engine median``: how many
  times faster the engine is) and to the memory floor (``engine median / floor
  median``: how many times the floor's time the engine takes);
- GB/s for the writers and the service, requests/s for the service, peak memory.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

BEGIN = "<!-- BEGIN GENERATED: benchmarks/report.py -->"
END = "<!-- END GENERATED -->"
KINDS = {
    "contract": "whole contract dataset (`jd.generate`: six arrays)",
    "full": "X_full + y_full alone (`generate_rows(split='full')`)",
    "split": "shuffled train + test rows alone (`generate_rows` of train, then test)",
}
# The targets of issue 6: (kind, peer, least speed-up).
TARGETS = (
    ("full", "make_moons", 15.0),
    ("full", "v1-generation", 4.0),
    ("contract", "v1-pipeline", 5.0),
    ("contract", "make_moons+split", 8.0),
)
MEMORY_TARGET = 1.5
#: GB/s of a Recipe streamed into memory (generation included), by format, at 1e7 rows.
STREAM_TARGETS = {"arrow": 0.8, "npz": 0.6}


def size_label(n: int) -> str:
    k = len(str(n)) - 1
    return f"1e{k}" if n == 10**k else str(n)


def fmt_ns(x: float) -> str:
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def fmt_ratio(r: float) -> str:
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x"


class Run:
    """The benchmarks of one JSON run, indexed by what they measured."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.rows: list[dict[str, Any]] = []
        for b in doc.get("benchmarks", []):
            info = dict(b.get("extra_info", {}))
            if "n_rows" not in info or "role" not in info:
                continue
            info["median"] = float(b["stats"]["median"])
            info["name"] = b.get("fullname") or b["name"]
            self.rows.append(info)

    def select(self, **match: Any) -> list[dict[str, Any]]:
        return [r for r in self.rows if all(r.get(k) == v for k, v in match.items())]

    def sizes(self, kind: str) -> list[int]:
        return sorted({r["n_rows"] for r in self.select(kind=kind)})

    def engines(self, kind: str) -> list[tuple[str, str]]:
        return sorted({(r["generator"], r["backend"]) for r in self.select(kind=kind, role="engine")})

    def engine(self, kind: str, generator: str, backend: str, n: int) -> dict[str, Any] | None:
        found = self.select(kind=kind, role="engine", generator=generator, backend=backend, n_rows=n)
        return found[0] if found else None

    def peers(self, kind: str, role: str) -> list[str]:
        return sorted({r["peer"] for r in self.select(kind=kind, role=role)})

    def peer(self, kind: str, name: str, n: int) -> dict[str, Any] | None:
        found = [r for r in self.select(kind=kind, n_rows=n) if r.get("peer") == name]
        return found[0] if found else None


def ns_per_row(r: dict[str, Any]) -> float:
    return r["median"] / r["n_rows"] * 1e9


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return [*out, ""]


def best_cpu_backend(run: Run) -> str:
    backends = {b for _, b in run.engines("full")}
    for name in ("numba", "jax", "numpy"):
        if name in backends:
            return name
    return sorted(backends)[0] if backends else "numba"


def targets_section(run: Run, generator: str = "spiral") -> list[str]:
    backend = best_cpu_backend(run)
    sizes = run.sizes("full")
    if not sizes:
        return []
    n = max(sizes)
    out = [f"### Targets: {generator}, backend {backend}, {size_label(n)} rows", ""]
    rows = []
    for kind, peer_name, least in TARGETS:
        e, p = run.engine(kind, generator, backend, n), run.peer(kind, peer_name, n)
        if e is None or p is None:
            continue
        ratio = p["median"] / e["median"]
        rows.append(
            [
                KINDS[kind].split(" (")[0],
                f"{ns_per_row(e):.1f}",
                peer_name,
                f"{ns_per_row(p):.1f}",
                fmt_ratio(ratio),
                f">= {least:g}x",
                _status(ratio >= least),
            ]
        )
    for kind in ("full", "contract"):
        e = run.engine(kind, generator, backend, n)
        for floor in run.peers(kind, "floor"):
            f = run.peer(kind, floor, n)
            if e is not None and f is not None:
                rows.append(
                    [
                        KINDS[kind].split(" (")[0],
                        f"{ns_per_row(e):.1f}",
                        floor,
                        f"{ns_per_row(f):.1f}",
                        f"{e['median'] / f['median']:.2f}x the floor's time",
                        "-",
                        "-",
                    ]
                )
    out += _table(
        ["work", "engine ns/row", "peer", "peer ns/row", "engine speed-up", "target", "status"], rows
    )
    mem = [r for r in run.select(kind="memory", generator=generator, backend=backend) if r["n_rows"] == n]
    if mem:
        m = mem[0]
        ratio = m["tracemalloc_peak"] / m["array_bytes"]
        out.append(
            f"Peak memory of `jd.generate` ({backend}, {size_label(n)} rows): tracemalloc peak "
            f"{ratio:.2f}x the {m['array_bytes'] / 1e6:.0f} MB it returns, resident-set growth "
            f"{m['rss_peak_growth'] / m['array_bytes']:.2f}x (target <= {MEMORY_TARGET:g}x: "
            f"{'met' if ratio <= MEMORY_TARGET else '**missed**'})."
        )
        out.append("")
    full, contract = run.engine("full", generator, backend, n), run.engine("contract", generator, backend, n)
    if full and contract:
        c, f = ns_per_row(contract), ns_per_row(full)
        out.append(
            f"Where the time of `jd.generate` goes ({backend}, {size_label(n)}): {c:.1f} ns/row in all, "
            f"of which X_full/y_full {f:.1f} ({f / c:.0%}) and the train/test part "
            f"{c - f:.1f} ({(c - f) / c:.0%})."
        )
        out.append("")
    return out


def ns_tables(run: Run) -> list[str]:
    out = []
    for kind, title in KINDS.items():
        sizes = run.sizes(kind)
        if not sizes:
            continue
        out += [f"### ns/row: {title}", ""]
        rows = []
        for gen, be in run.engines(kind):
            cells = [run.engine(kind, gen, be, n) for n in sizes]
            rows.append([gen, be] + [fmt_ns(ns_per_row(c)) if c else "-" for c in cells])
        for role in ("peer", "floor"):
            for name in run.peers(kind, role):
                cells = [run.peer(kind, name, n) for n in sizes]
                rows.append([f"*{name}*", f"({role})"] + [fmt_ns(ns_per_row(c)) if c else "-" for c in cells])
        out += _table(["generator", "backend"] + [size_label(n) for n in sizes], rows)
    return out


def ratio_tables(run: Run) -> list[str]:
    out = []
    for kind, title in KINDS.items():
        peers, floors = run.peers(kind, "peer"), run.peers(kind, "floor")
        for n in run.sizes(kind):
            engines = [(g, b) for g, b in run.engines(kind) if run.engine(kind, g, b, n)]
            if not engines or not (peers or floors):
                continue
            out += [
                f"### Ratios at {size_label(n)} rows: {title}",
                "",
                "Peer columns: times faster than the peer (peer / engine). "
                "Floor columns: times the floor's time (engine / floor).",
                "",
            ]
            rows = []
            for g, b in engines:
                e = run.engine(kind, g, b, n)
                assert e is not None
                row = [g, b]
                for p in peers:
                    pr = run.peer(kind, p, n)
                    row.append(fmt_ratio(pr["median"] / e["median"]) if pr else "-")
                for f in floors:
                    fr = run.peer(kind, f, n)
                    row.append(fmt_ratio(e["median"] / fr["median"]) if fr else "-")
                rows.append(row)
            out += _table(
                ["generator", "backend"] + [f"vs {p}" for p in peers] + [f"{f}" for f in floors], rows
            )
    return out


def _gbps(r: dict[str, Any]) -> float:
    return float(r["bytes"] / r["median"] / 1e9)


def artifact_targets(run: Run) -> list[str]:
    """The artifacts issue's targets at the largest size: streamed GB/s, and each writer
    alone against ``np.savez`` of the same arrays in the same run."""
    writes = run.select(kind="write") + run.select(kind="stream")
    if not writes:
        return []
    n = max(r["n_rows"] for r in writes)
    rows = []
    for fmt, least in STREAM_TARGETS.items():
        for r in run.select(kind="stream", format=fmt, n_rows=n, role="engine"):
            got = _gbps(r)
            rows.append(
                [
                    f"{fmt} streamed from a Recipe",
                    f"{got:.2f} GB/s",
                    f">= {least:g} GB/s",
                    _status(got >= least),
                ]
            )
    savez = [r for r in run.select(kind="write", n_rows=n, role="peer") if r.get("peer") == "np.savez"]
    for r in run.select(kind="write", n_rows=n, role="engine") if savez else []:
        got, bar = _gbps(r), _gbps(savez[0])
        target = f">= np.savez {bar:.2f} GB/s"
        rows.append([f"{r['format']} writer alone", f"{got:.2f} GB/s", target, _status(got >= bar)])
    if not rows:
        return []
    header = ["work", "this run", "target", "status"]
    return [f"Artifact targets at {size_label(n)} rows:", "", *_table(header, rows)]


def _status(ok: bool) -> str:
    return "met" if ok else "**missed**"


def throughput_section(run: Run) -> list[str]:
    out = []
    writes = run.select(kind="write") + run.select(kind="stream")
    if writes:
        out += ["### Artifacts: writers into memory (a reused, preallocated buffer)", ""]
        rows = []
        for r in sorted(writes, key=lambda r: (r["kind"], r["format"], r["n_rows"], r["role"])):
            if r["role"] == "peer":
                what = f"{r['peer']} of the Dataset (peer)"
            elif r["kind"] == "write":
                what = "Dataset (writer alone)"
            else:
                what = "Recipe (generate + write, streamed)"
            rows.append(
                [
                    r["format"],
                    what,
                    r.get("backend", "-"),
                    size_label(r["n_rows"]),
                    f"{r['bytes'] / 1e6:.1f}",
                    fmt_ns(ns_per_row(r)),
                    f"{r['bytes'] / r['median'] / 1e9:.2f}",
                ]
            )
        out += _table(["format", "source", "backend", "rows", "MB", "ns/row", "GB/s"], rows)
        out += artifact_targets(run)
    mem = run.select(kind="memory")
    if mem:
        out += ["### Peak memory of `jd.generate` (spiral), in a subprocess", ""]
        rows = [
            [
                r["backend"],
                size_label(r["n_rows"]),
                f"{r['array_bytes'] / 1e6:.0f}",
                f"{r['tracemalloc_peak'] / r['array_bytes']:.2f}x",
                f"{r['rss_peak_growth'] / r['array_bytes']:.2f}x",
            ]
            for r in sorted(mem, key=lambda r: (r["n_rows"], r["backend"]))
        ]
        out += _table(
            ["backend", "rows", "arrays MB", "tracemalloc peak / arrays", "RSS growth / arrays"], rows
        )
        out += ["(JAX's device buffers are not seen by tracemalloc; the RSS column counts them.)", ""]
    small = run.select(kind="service-small")
    if small:
        out += ["### Service, small requests (create + NPZ download over loopback)", ""]
        rows = [
            [
                r.get("dataset", "-"),
                str(r["clients"]),
                str(r["requests"]),
                f"{r['requests'] / r['median']:.0f}",
                f"{r['median'] / r['requests'] * r['clients'] * 1e3:.1f}",
            ]
            for r in sorted(small, key=lambda r: (r.get("dataset", ""), r["clients"]))
        ]
        out += _table(
            ["dataset", "clients", "requests/round", "requests/s", "ms per request (per client)"], rows
        )
    large = run.select(kind="service-large")
    if large:
        out += ["### Service, large downloads over loopback", ""]
        rows = [
            [
                r["format"],
                r.get("source", "-"),
                size_label(r["n_rows"]),
                f"{r['bytes'] / 1e6:.0f}",
                f"{r['median']:.2f}",
                f"{r['bytes'] / r['median'] / 1e9:.2f}",
            ]
            for r in sorted(large, key=lambda r: (r["n_rows"], r["format"], r.get("source", "")))
        ]
        out += _table(["format", "artifact", "rows", "MB", "seconds", "GB/s"], rows)
    return out


def machine_line(run: Run) -> list[str]:
    m = run.doc.get("machine_info", {})
    c = run.doc.get("commit_info", {})
    cpu = m.get("cpu", {})
    return [
        f"Run of {run.doc.get('datetime', '?')[:19]} on {cpu.get('brand_raw', m.get('processor', '?'))} "
        f"({cpu.get('count', '?')} logical CPUs), Python {m.get('python_version', '?')}, "
        f"commit {str(c.get('id', '?'))[:10]}{' (dirty)' if c.get('dirty') else ''}. "
        "Medians; ratios are between medians of this same run.",
        "",
    ]


def plots(run: Run, img_dir: Path, generator: str = "spiral") -> list[str]:
    """PNG plots; returns the markdown lines that show them (nothing without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ["(plots skipped: matplotlib is not installed)", ""]
    img_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for kind in ("full", "contract"):
        sizes = run.sizes(kind)
        if not sizes:
            continue
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for gen, be in run.engines(kind):
            if gen != generator:
                continue
            pts = [(n, run.engine(kind, gen, be, n)) for n in sizes]
            xs = [n for n, r in pts if r]
            ax.plot(xs, [n / r["median"] for n, r in pts if r], marker="o", label=f"engine {be}")
        for role, style in (("peer", "--"), ("floor", ":")):
            for name in run.peers(kind, role):
                pts = [(n, run.peer(kind, name, n)) for n in sizes]
                xs = [n for n, r in pts if r]
                ax.plot(xs, [n / r["median"] for n, r in pts if r], style, marker=".", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows")
        ax.set_ylabel("rows / s")
        ax.set_title(f"{generator}: {kind}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path = img_dir / f"rows_per_s_{kind}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        out += [f"![rows/s, {kind}](img/{path.name})", ""]

        n = max(sizes)
        peers = run.peers(kind, "peer")
        backends = [be for gen, be in run.engines(kind) if gen == generator and run.engine(kind, gen, be, n)]
        if peers and backends:
            fig, ax = plt.subplots(figsize=(7, 4))
            width = 0.8 / len(backends)
            for k, be in enumerate(backends):
                e = run.engine(kind, generator, be, n)
                assert e is not None
                vals = []
                for p in peers:
                    pr = run.peer(kind, p, n)
                    vals.append(pr["median"] / e["median"] if pr else 0.0)
                ax.bar([i + k * width for i in range(len(peers))], vals, width, label=be)
            ax.set_xticks([i + width * (len(backends) - 1) / 2 for i in range(len(peers))])
            ax.set_xticklabels(peers, fontsize=8)
            ax.axhline(1.0, color="k", lw=0.8)
            ax.set_ylabel("times faster than the peer")
            ax.set_title(f"{generator}: {kind}, {size_label(n)} rows")
            ax.legend(fontsize=8)
            fig.tight_layout()
            path = img_dir / f"ratio_{kind}.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            out += [f"![ratio to peers, {kind}](img/{path.name})", ""]
    return out


def render(run: Run, img_dir: Path | None) -> str:
    lines = machine_line(run) + targets_section(run)
    if img_dir is not None:
        lines += plots(run, img_dir)
    lines += ns_tables(run) + ratio_tables(run) + throughput_section(run)
    return "\n".join(lines).rstrip() + "\n"


def write_doc(md_path: Path, body: str) -> None:
    block = f"{BEGIN}\n\n{body}\n{END}"
    if md_path.exists():
        text = md_path.read_text()
        if BEGIN in text and END in text:
            text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
            md_path.write_text(text)
            return
    md_path.write_text(f"# Benchmarks\n\n{block}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", help="pytest-benchmark JSON (--benchmark-json)")
    parser.add_argument("--out", default="docs", help="folder of benchmarks.md and img/ (default docs)")
    parser.add_argument("--no-plots", action="store_true", help="tables only")
    args = parser.parse_args(argv)
    run = Run(json.loads(Path(args.results).read_text()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    body = render(run, None if args.no_plots else out / "img")
    write_doc(out / "benchmarks.md", body)
    print(f"wrote {out / 'benchmarks.md'}" + ("" if args.no_plots else f" and plots in {out / 'img'}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
