"""The benchmark suite's own checks."""
