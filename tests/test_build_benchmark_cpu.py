"""The build benchmark's CPU tables: parent and workers apart, and the projection."""

from __future__ import annotations

from benchmarks.build import contenders
from benchmarks.build import measuring
from benchmarks.build import tables


def _run(images: int, parent: float, workers: float, output: int = 0) -> measuring.Measurement:
  return measuring.Measurement(
      wall_s=10.0, cpu_s=parent + workers, peak_rss=0, peak_disk=0, rchar=0,
      read_bytes=0, load1=0.0, images=images, output_bytes=output,
      parent_cpu_s=parent, children_cpu_s=workers,
  )


BASELINES = {contenders.TINY_BASELINE: _run(contenders.TINY_IMAGES, 5.0, 0.1)}


def test_the_parents_cpu_per_image_leaves_out_its_start_up():
  medians = {'plain_w1': _run(10_065, 5.2, 3.0)}
  table = tables.cpu_table(medians, BASELINES)
  [row] = [line for line in table.splitlines() if line.startswith('imagenet_custom plain, 1')]
  # (5.2 - 5.0) s over 10,000 images = 20 us; 3.0 s over 10,065 = 298 us.
  assert row.split()[-3:] == ['20', '298', '0.82']
  assert "start-up = the tiny build's parent, 5.00 s" in table


def test_the_projection_spreads_the_workers_and_not_the_parent():
  medians = {'plain_w1': _run(10_065, 5.2, 3.0, output=10_065 * 110_000)}
  text = tables.cpu_projection(medians, BASELINES)
  rows = {line.split()[0]: line.split() for line in text.splitlines() if line[:2].strip().isdigit()}
  assert set(rows) == {'8', '16', '64'}
  # Workers: 1,331,167 x 298 us / 8 cores = 0.8 min; the parent 0.4 min.
  assert rows['8'][1:3] == ['0.8', '0.4']
  assert float(rows['64'][1]) < float(rows['16'][1]) < float(rows['8'][1])
  assert float(rows['64'][4].replace(',', '')) > float(rows['8'][4].replace(',', ''))


def test_no_projection_without_a_one_worker_run():
  assert 'needs the contender plain_w1' in tables.cpu_projection({}, BASELINES)
