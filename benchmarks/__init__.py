"""The JuniperData benchmark suite (pytest-benchmark); see docs/benchmarks.md."""
