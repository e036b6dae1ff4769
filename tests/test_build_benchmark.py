"""Tests for benchmarks/build_benchmark.py: its measurements and its table.

One end-to-end test builds 200 small images with the plain contender and the
I/O floor (one run each, about 30 s); the others check the pieces without
building anything. No test asserts a timing.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

from benchmarks import build_benchmark as bench

_COLUMNS = [
    'contender', 'wall s', 'images/s', 'CPU s', 'peak RSS MB', 'disk read MB',
    'read/arch', 'rchar MB', 'rchar/arch', 'peak disk MB', 'vs imagenet2012',
    'vs floor', 'load',
]


def _number(cell: str) -> float:
  """A table cell as a number (`1,234`, `0.50x`)."""
  return float(cell.replace(',', '').rstrip('x'))


def _table_rows(report: str) -> dict[str, list[str]]:
  """The comparison table's rows by contender label."""
  lines = report.splitlines()
  start = next(i for i, line in enumerate(lines) if line.startswith('contender '))
  rows = {}
  for line in lines[start + 2:]:
    if not line.strip():
      break
    label = next(name for name in bench.CONTENDERS.values() if line.startswith(name))
    rows[label] = line[len(label):].split()
  return rows


def test_plain_build_and_floor_table(tmp_path: pathlib.Path, capsys) -> None:
  report_path = tmp_path / 'report.txt'
  status = bench.main([
      '--images', '200', '--small', '--contenders', 'plain,floor',
      '--repeats', '1', '--work_dir', str(tmp_path / 'work'),
      '--report', str(report_path),
  ])
  assert status == 0
  printed = capsys.readouterr().out
  report = report_path.read_text()
  assert report.strip() in printed
  header = next(line for line in report.splitlines() if line.startswith('contender '))
  assert [c.strip() for c in header.split('  ') if c.strip()] == _COLUMNS
  rows = _table_rows(report)
  assert set(rows) == {bench.CONTENDERS['plain'], bench.CONTENDERS['floor']}
  for label, cells in rows.items():
    assert len(cells) == len(_COLUMNS) - 1, label
    wall, images_per_s, _, rss, _, _, _, _, disk, versus_reference, versus_floor, _ = cells
    assert _number(wall) > 0 and _number(images_per_s) > 0, label
    assert _number(rss) > 0 and _number(disk) > 0, label
    assert versus_reference == '-'  # imagenet2012 was not run.
    assert _number(versus_floor) > 0
  floor = rows[bench.CONTENDERS['floor']]
  # The floor reads each archive byte exactly once.
  assert _number(floor[7]) == pytest.approx(1.0, abs=0.01)
  assert _number(floor[10]) == 1.0
  assert 'Machine:' in report and 'Input: 200 64x64 JPEGs' in report


def test_measure_command_counts_reads_rss_and_disk(tmp_path: pathlib.Path) -> None:
  source = tmp_path / 'source.bin'
  source.write_bytes(b'x' * (4 << 20))
  out = tmp_path / 'out'
  out.mkdir()
  code = (
      'import sys, time\n'
      'data = open(sys.argv[1], "rb").read()\n'
      'open(sys.argv[2] + "/copy.bin", "wb").write(data)\n'
      'time.sleep(0.5)\n'
  )
  measurement, status = bench.measure_command(
      [sys.executable, '-c', code, str(source), str(out)], tmp_path, {},
      tmp_path / 'log.txt', [out], interval=0.05,
  )
  assert status == 0
  assert measurement.rchar >= 4 << 20
  assert measurement.peak_rss > 4 << 20
  assert measurement.peak_disk >= 4 << 20
  assert measurement.wall_s >= 0.5 and measurement.cpu_s > 0


def test_measure_command_reports_failure(tmp_path: pathlib.Path) -> None:
  _, status = bench.measure_command(
      [sys.executable, '-c', 'raise SystemExit(3)'], tmp_path, {},
      tmp_path / 'log.txt', [],
  )
  assert status == 3


def test_median_measurement() -> None:
  runs = [
      bench.Measurement(1.0, 2.0, 10, 20, 30, 40, 0.5, images=100),
      bench.Measurement(3.0, 4.0, 30, 40, 50, 60, 1.5, images=100),
      bench.Measurement(2.0, 9.0, 20, 10, 70, 50, 1.0, images=100),
  ]
  median = bench.median_measurement(runs)
  assert median == bench.Measurement(2.0, 4.0, 20, 20, 50, 50, 1.0, images=100)


def test_parse_pyspy_raw_sums_by_function_and_thread() -> None:
  raw = '\n'.join([
      'thread (0x1): MainThread;main (a.py:1);write (tfds/writer.py:10) 6',
      'thread (0x1): MainThread;main (a.py:1);write (tfds/writer.py:12) 2',
      'thread (0x2): ThreadPoolExecutor-0_0;work (b.py:5);load (PIL/x.py:9) 3',
      'thread (0x3): ThreadPoolExecutor-0_1;work (b.py:5) 1',
  ])
  profile = bench.parse_pyspy_raw(raw)
  assert profile.total == 12
  assert profile.threads == {'MainThread': 8, 'ThreadPoolExecutor': 4}
  assert profile.thread_ids['ThreadPoolExecutor'] == {'thread (0x2)', 'thread (0x3)'}
  assert profile.own['write (tfds/writer.py)'] == 8
  assert profile.own['work (b.py)'] == 1
  assert profile.inclusive['main (a.py)'] == 8
  assert profile.inclusive['work (b.py)'] == 4
  text = bench.format_pyspy(profile, rate=10, wall_s=1.0, images=4, top=3)
  assert 'MainThread' in text and 'write (tfds/writer.py)' in text


def test_split_counts() -> None:
  assert bench.split_counts(20_000) == (18_000, 2_000, 100)
  assert bench.split_counts(200) == (180, 20, 100)
  assert bench.split_counts(1_000_000) == (950_000, 50_000, 100)
