"""Tests of `benchmarks.build.measuring`: a process tree's I/O, memory, disk."""

from __future__ import annotations

import os
import pathlib
import sys

from benchmarks.build import measuring

MB = 1 << 20


def test_measure_command_counts_reads_memory_and_disk(
    tmp_path: pathlib.Path,
) -> None:
  source = tmp_path / 'source.bin'
  source.write_bytes(b'x' * (4 * MB))
  out = tmp_path / 'out'
  out.mkdir()
  code = (
      'import sys, time\n'
      'data = open(sys.argv[1], "rb").read()\n'
      'open(sys.argv[2] + "/copy.bin", "wb").write(data)\n'
      'time.sleep(0.5)\n'
  )
  measurement, status = measuring.measure_command(
      [sys.executable, '-c', code, str(source), str(out)], tmp_path, {},
      tmp_path / 'log.txt', [out], interval=0.05,
  )
  assert status == 0
  assert measurement.rchar >= 4 * MB
  assert measurement.peak_rss > 4 * MB
  assert 4 * MB < measurement.peak_pss <= measurement.peak_rss
  assert measurement.peak_disk >= 4 * MB
  assert measurement.wall_s >= 0.5 and measurement.cpu_s > 0
  (process,) = measurement.peak_processes
  assert process.pss == measurement.peak_pss and process.pss_measured
  assert measurement.splits == 0  # No TFDS phases in this log.


def test_peak_sums_the_whole_tree(tmp_path: pathlib.Path) -> None:
  # A parent holding 20 MB starts two children holding 30 MB each.
  hold = 'import time; data = bytearray({size} << 20); time.sleep(1.5)'
  code = (
      'import subprocess, sys, time\n'
      f'data = bytearray(20 << 20)\n'
      f'children = [subprocess.Popen([sys.executable, "-c", {hold.format(size=30)!r}])'
      ' for _ in range(2)]\n'
      '[child.wait() for child in children]\n'
  )
  measurement, status = measuring.measure_command(
      [sys.executable, '-c', code], tmp_path, dict(os.environ),
      tmp_path / 'log.txt', [], interval=0.1,
  )
  assert status == 0
  assert len(measurement.peak_processes) == 3
  assert measurement.peak_pss > 80 * MB
  assert measurement.peak_pss == sum(p.pss for p in measurement.peak_processes)
  children = [p for p in measurement.peak_processes if p.pss > 25 * MB and p.pss < 40 * MB]
  assert len(children) >= 2


def test_measure_command_reports_failure(tmp_path: pathlib.Path) -> None:
  _, status = measuring.measure_command(
      [sys.executable, '-c', 'raise SystemExit(3)'], tmp_path, {},
      tmp_path / 'log.txt', [],
  )
  assert status == 3


def test_read_pss_of_this_process_is_below_its_rss() -> None:
  pss = measuring.read_pss(os.getpid())
  (me,) = [p for p in measuring.tree_memory(os.getpid()) if p.pid == os.getpid()]
  assert pss is not None and 0 < pss <= me.rss
  assert measuring.read_pss(2**22 + 12345) is None  # No such process.


def test_memory_peaks_keep_the_tree_at_the_largest_sum() -> None:
  peaks = measuring.MemoryPeaks()
  small = [measuring.ProcessMemory(1, 'tfds', 100, 300)]
  large = [measuring.ProcessMemory(1, 'tfds', 90, 250),
           measuring.ProcessMemory(2, 'python -m worker', 40, 60)]
  later = [measuring.ProcessMemory(1, 'tfds', 120, 330)]
  for sample in (small, large, later):
    peaks.add(sample)
  assert peaks.peak_pss == 130 and peaks.peak_processes == tuple(large)
  assert peaks.peak_rss == 330


def test_median_measurement() -> None:
  runs = [
      measuring.Measurement(1.0, 2.0, 10, 20, 30, 40, 0.5, images=100,
                            peak_pss=7, generate_s=1.0, splits=4),
      measuring.Measurement(3.0, 4.0, 30, 40, 50, 60, 1.5, images=100,
                            peak_pss=9, generate_s=3.0, splits=4),
      measuring.Measurement(2.0, 9.0, 20, 10, 70, 50, 1.0, images=100,
                            peak_pss=8, generate_s=2.0, splits=4,
                            peak_processes=(measuring.ProcessMemory(1, 'x', 8, 9),)),
  ]
  median = measuring.median_measurement(runs)
  assert median == measuring.Measurement(
      2.0, 4.0, 20, 20, 50, 50, 1.0, images=100, peak_pss=8, generate_s=2.0,
      splits=4, peak_processes=(measuring.ProcessMemory(1, 'x', 8, 9),),
  )


def test_parent_and_children_cpu_are_apart(tmp_path: pathlib.Path) -> None:
  # The parent burns ~0.3 s of CPU, its child ~1 s.
  burn = 'import time; end = time.process_time() + {0}\nwhile time.process_time() < end: pass'
  code = (
      'import subprocess, sys\n'
      f'child = subprocess.Popen([sys.executable, "-c", {burn.format(1.0)!r}])\n'
      f'{burn.format(0.3)}\n'
      'child.wait()\n'
  )
  measurement, status = measuring.measure_command(
      [sys.executable, '-c', code], tmp_path, dict(os.environ),
      tmp_path / 'log.txt', [], interval=0.1,
  )
  assert status == 0
  assert 0.3 <= measurement.parent_cpu_s < 0.9
  assert 1.0 <= measurement.children_cpu_s < 1.6
  assert abs(measurement.parent_cpu_s + measurement.children_cpu_s - measurement.cpu_s) < 0.1
