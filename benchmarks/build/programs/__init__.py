"""Programs the benchmark runs as contenders or baselines (`python -m ...`).

Each takes the checkout to measure (`--project_dir`) first on `sys.path`, so
that another checkout's `imagenet_custom` can be measured with this harness.
"""
