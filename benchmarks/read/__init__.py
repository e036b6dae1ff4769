"""The read benchmark's modules; run it with `python benchmarks/read_benchmark.py`.

  inputs:   the fake download, its builds (`default`, `s256`) and class folders.
  methods:  the loaders measured, each an endless stream of batches.
  measure:  timing epochs and stages (wall time, CPU time, others' load).
  stages:   the profile: each stage of the pipelines alone.
  scaled:   libjpeg's scaled decoding of a crop, profiled beside the full one.
  tables:   the printed tables and ratios against the targets.
"""
