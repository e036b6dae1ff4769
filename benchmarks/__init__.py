"""Benchmarks of the imagenet_custom build (not part of the installed package)."""
