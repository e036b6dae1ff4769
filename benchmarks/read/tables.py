"""The printed tables: methods, ratios against their targets, configs."""

from __future__ import annotations

from collections.abc import Sequence
import os
import statistics

import tensorflow as tf

from benchmarks.read import inputs
from benchmarks.read import methods as methods_lib
from benchmarks.read.measure import Method

# (numerator, denominator, target) of the ratios printed; targets of issue 9
# (c against the folder loaders, c256 against b) and of the first pipeline
# (c and d against the in-memory limit).
RATIOS = (
    ('c', 'a3', 2.0),
    ('c', 'a2', 2.0),
    ('c', 'b', 1.1),
    ('c256', 'b', 1.8),
    ('c', 'e', 0.9),
    ('d', 'e', 1.0),
)
# The resized build's shards against the default build's.
DISK_TARGET = 0.6


def _by_key(methods: Sequence[Method], key: str) -> Method | None:
  """The method with `key`, or None."""
  return next((method for method in methods if method.key == key), None)


def _median_cpu_ms(method: Method) -> float:
  return statistics.median(run.cpu_ms for run in method.runs)


def format_results(methods: Sequence[Method]) -> str:
  """The results table and the ratios against their targets.

  Ratios use each method's fastest epoch: other load on the machine only ever
  slows an epoch down, so the best of several is the closest to the method's
  own speed (as `timeit` takes the minimum). Medians are shown beside them.

  Args:
    methods: measured methods.

  Returns:
    Printable text.
  """
  lines = [
      f'{"":13} {"method":50} {"best":>6} {"median":>6} {"CPU ms/img":>10}'
      f' {"others":>6}',
  ]
  for method in methods:
    fastest, median = method.best(), method.median()
    if fastest is None or median is None:
      lines.append(f'({method.key:11}) {method.label:50} unavailable: {method.unavailable}')
      continue
    others = statistics.median(run.others_share for run in method.runs)
    lines.append(
        f'({method.key:11}) {method.label:50} {fastest.rate:6.0f} {median.rate:6.0f}'
        f' {_median_cpu_ms(method):10.2f} {100 * others:5.0f}%'
    )
  lines.append('')
  lines.append('ratio         best img/s  target           median img/s  CPU (1/ms)')
  for top, bottom, target in RATIOS:
    top_method, bottom_method = _by_key(methods, top), _by_key(methods, bottom)
    name = f'({top})/({bottom})'
    if (
        top_method is None or bottom_method is None
        or not top_method.runs or not bottom_method.runs
    ):
      lines.append(f'{name:13} n/a         >= {target:.1f}')
      continue
    top_best, bottom_best = top_method.best(), bottom_method.best()
    top_median, bottom_median = top_method.median(), bottom_method.median()
    assert top_best and bottom_best and top_median and bottom_median  # Runs exist.
    ratio = top_best.rate / bottom_best.rate
    median_ratio = top_median.rate / bottom_median.rate
    cpu_ratio = _median_cpu_ms(bottom_method) / _median_cpu_ms(top_method)
    verdict = 'met' if ratio >= target else 'MISSED'
    lines.append(
        f'{name:13} {ratio:5.2f}       >= {target:.1f} {verdict:7}'
        f' {median_ratio:8.2f}     {cpu_ratio:7.2f}'
    )
  return '\n'.join(lines)


def format_configs(corpus: inputs.Corpus, methods: Sequence[Method]) -> str:
  """Per config: disk size, build time, training and eval images/s.

  Args:
    corpus: the builds.
    methods: measured methods (`c`, `d` for default, `c256`, `d256` for s256).

  Returns:
    Printable text, ending with the disk ratio against its target.
  """
  streams = {'default': ('c', 'd'), 's256': ('c256', 'd256')}
  lines = [
      f'{"config":8} {"shards MiB":>10} {"build s":>8} {"CPU s":>6} {"resized":>8} {"kept":>6}'
      f' {"JPEG KiB":>8} {"train img/s":>11} {"eval img/s":>10}'
  ]
  for config, build in corpus.builds.items():
    rates = []
    for key in streams[config]:
      method = _by_key(methods, key)
      best = method.best() if method is not None else None
      rates.append(f'{best.rate:.0f}' if best is not None else 'n/a')
    lines.append(
        f'{config:8} {build.shard_bytes / 2**20:10.1f} {build.seconds:8.1f}'
        f' {build.cpu_seconds:6.1f}'
        f' {build.resized:8} {build.kept:6} {build.mean_kib:8.1f}'
        f' {rates[0]:>11} {rates[1]:>10}'
    )
  if 'default' in corpus.builds and 's256' in corpus.builds:
    disk = corpus.builds['s256'].shard_bytes / corpus.builds['default'].shard_bytes
    build_ratio = corpus.builds['s256'].seconds / corpus.builds['default'].seconds
    cpu = corpus.builds['s256'].cpu_seconds / corpus.builds['default'].cpu_seconds
    verdict = 'met' if disk <= DISK_TARGET else 'MISSED'
    lines.append(
        f's256/default: shards {disk:.2f} (target <= {DISK_TARGET}, {verdict});'
        f' build time {build_ratio:.2f}, build CPU {cpu:.2f}'
    )
  return '\n'.join(lines)


def environment() -> str:
  """Cores, load average, versions and allocator, for the start and end lines."""
  load = ', '.join(f'{x:.1f}' for x in os.getloadavg())
  tf_keras = methods_lib.tf_keras
  return (
      f'{os.cpu_count()} cores, load average {load}; TensorFlow {tf.__version__},'
      f' Keras {tf.keras.__version__},'
      f' TF_CPU_ALLOCATOR_USE_BFC={os.environ.get("TF_CPU_ALLOCATOR_USE_BFC")},'
      f' tf_keras {"not installed" if tf_keras is None else tf_keras.__version__}'
  )
