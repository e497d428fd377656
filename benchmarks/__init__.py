"""Benchmarks: each measures the product and its baseline in the same run on the same data."""
