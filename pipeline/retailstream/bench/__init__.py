"""Benchmarks (`make bench`): each module measures alternatives side by side in one run and reports
ratios, so results are comparable on any machine. Results are printed and written to bench-results/."""
