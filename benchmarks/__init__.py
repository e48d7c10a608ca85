"""edgeser.benchmarks."""
