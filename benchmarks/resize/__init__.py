"""The resize benchmark's modules; run it with `python benchmarks/resize_benchmark.py`.

  inputs:     the images: the project's realistic JPEGs, photo-like ones, large ones.
  quality:    the float Lanczos reference and PSNR.
  recipes:    the ways of shrinking one JPEG (a registry), and the stages alone.
  measuring:  per-image CPU time, best of interleaved passes.
  cli:        the command line and the printed tables.
"""
