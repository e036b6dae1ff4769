"""Tests of `benchmarks.build.scaling` and the tables built from it."""

from __future__ import annotations

import pathlib

import pytest

from benchmarks.build import inputs
from benchmarks.build import measuring
from benchmarks.build import scaling
from benchmarks.build import tables

MB = 1 << 20


def test_serial_fraction_inverts_amdahl() -> None:
  for serial in (0.0, 0.1, 0.5, 1.0):
    two_workers = 100 * scaling.amdahl_factor(serial, 2)
    measured = scaling.serial_fraction(scaling.speedup(100, two_workers))
    assert measured == pytest.approx(serial)
  assert scaling.serial_fraction(1.7) == pytest.approx(2 / 1.7 - 1)
  assert scaling.serial_fraction(2.5) < 0  # Reported as measured.
  with pytest.raises(ValueError, match='positive'):
    scaling.speedup(10.0, 0.0)


def test_amdahl_factor_clamps_the_serial_fraction() -> None:
  assert scaling.amdahl_factor(-0.2, 8) == pytest.approx(1 / 8)
  assert scaling.amdahl_factor(1.3, 8) == 1.0
  assert scaling.amdahl_factor(0.25, 4) == pytest.approx(0.25 + 0.75 / 4)


def test_projection_of_the_full_build() -> None:
  # 1 ms/image with one worker, 10% serial, 100 KiB/image.
  (eight, sixty_four) = scaling.project(
      0.001, 0.1, 100 * 1024, write_per_image_s=0.0002, setup_s=5.0,
      cores=(8, 64),
  )
  full = scaling.FULL_IMAGES
  assert full == 1_331_167
  assert eight.generate_s == pytest.approx(full * 0.001 * (0.1 + 0.9 / 8))
  assert eight.build_s == pytest.approx(5.0 + eight.generate_s + full * 0.0002)
  assert eight.read_mb_s == pytest.approx(full * 100 * 1024 / eight.generate_s / MB)
  assert sixty_four.real_read_mb_s == pytest.approx(
      scaling.FULL_ARCHIVE_BYTES / sixty_four.generate_s / MB
  )
  assert sixty_four.generate_s < eight.generate_s


def _input() -> inputs.BenchInput:
  """An input of 1,000 images and 100,000,000 bytes of tars."""
  return inputs.BenchInput(
      root=pathlib.Path('/nonexistent'), small=False, num_train=900,
      num_val=100, num_classes=10, train_tar_bytes=90_000_000,
      val_tar_bytes=10_000_000,
  )


def _run(wall: float, generate: float, pss: int = 800 * MB) -> measuring.Measurement:
  """A median run of 1,000 images."""
  return measuring.Measurement(
      wall_s=wall, cpu_s=wall, peak_rss=pss, peak_disk=0, rchar=0,
      read_bytes=0, load1=1.0, images=1_000, peak_pss=pss, setup_s=6.0,
      generate_s=generate, write_s=2.0, splits=4,
      peak_processes=(measuring.ProcessMemory(11, 'tfds', pss - 100 * MB, pss),
                      measuring.ProcessMemory(12, 'python -m w', 100 * MB, 120 * MB)),
  )


def test_scaling_report_prints_speedup_fraction_and_projection() -> None:
  medians = {
      'imagenet2012': _run(20.0, 10.0),
      'plain_w1': _run(30.0, 20.0),
      'plain_w2': _run(20.0, 11.5),
  }
  report = tables.scaling_report(medians, _input())
  speedup = 20.0 / 11.5
  assert f'speedup {speedup:.2f}x' in report
  assert f's = 2/speedup - 1 = {2 / speedup - 1:.3f}' in report
  assert '20.000 ms/image' in report
  rows = [line.split() for line in report.splitlines() if line[:2].strip().isdigit()]
  assert [row[0] for row in rows] == ['8', '16', '64']
  projections = scaling.project(0.02, 2 / speedup - 1, 100_000,
                                write_per_image_s=0.002, setup_s=6.0)
  for row, projection in zip(rows, projections, strict=True):
    assert row[1] == f'{projection.generate_s / 60:,.1f}'
    assert row[2] == f'{projection.build_s / 60:,.1f}'
    assert row[3] == f'{projection.read_mb_s:,.0f}'


def test_scaling_report_says_what_it_needs() -> None:
  assert 'plain_w1 and plain_w2' in tables.scaling_report(
      {'plain_w1': _run(30.0, 20.0)}, _input()
  )
  no_phases = _run(20.0, 0.0)
  assert 'generation phase was not found' in tables.scaling_report(
      {'plain_w1': _run(30.0, 20.0), 'plain_w2': no_phases}, _input()
  )


def test_ratio_table_divides_by_imagenet2012() -> None:
  medians = {
      'imagenet2012': _run(20.0, 10.0, pss=1000 * MB),
      'plain_w2': _run(14.0, 5.0, pss=1200 * MB),
  }
  lines = tables.ratio_table(medians).splitlines()
  assert lines[0].split()[:3] == ['contender', '/', 'imagenet2012']
  assert lines[2].split()[-5:] == ['1.00x'] * 5
  assert lines[3].endswith('0.70x  0.70x     0.50x  1.00x     1.20x')
  assert 'add imagenet2012' in tables.ratio_table({'plain': _run(1.0, 1.0)})


def test_resized_ratio_divides_s256_by_plain() -> None:
  medians = {'plain': _run(20.0, 10.0), 's256': _run(50.0, 40.0)}
  assert tables.resized_ratio(medians) == (
      's256 / plain (target <= 1.5x): wall 2.50x, CPU 2.50x, generate 4.00x'
  )
  assert 'add plain,s256' in tables.resized_ratio({'plain': _run(1.0, 1.0)})


def test_memory_breakdown_lists_each_process() -> None:
  text = tables.memory_breakdown({'plain_w1': _run(30.0, 20.0)})
  assert 'imagenet_custom plain, 1 worker: 800 MB in 2 processes' in text
  assert '700 MB  (RSS 800)  pid 11  tfds' in text
  assert '100 MB  (RSS 120)  pid 12  python -m w' in text
