"""End-to-end test of benchmarks/build_benchmark.py, and its command line.

The end-to-end test builds 200 small images with the plain contender and the
I/O floor (one run each, about 30 s); the unit tests of the package's modules
are in `test_build_benchmark_<module>.py`. No test asserts a timing.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from benchmarks import build_benchmark
from benchmarks.build import cli
from benchmarks.build import contenders
from benchmarks.build import tables


def _number(cell: str) -> float:
  """A table cell as a number (`1,234`, `0.50x`)."""
  return float(cell.replace(',', '').rstrip('x'))


def _table_rows(report: str) -> dict[str, list[str]]:
  """The comparison table's rows by contender label."""
  lines = report.splitlines()
  start = next(i for i, line in enumerate(lines) if line.startswith('contender '))
  labels = [entry.label for entry in contenders.CONTENDERS.values()]
  rows = {}
  for line in lines[start + 2:]:
    if not line.strip():
      break
    label = next(name for name in labels if line.startswith(name + ' '))
    rows[label] = line[len(label):].split()
  return rows


def test_plain_build_and_floor_table(tmp_path: pathlib.Path, capsys) -> None:
  report_path = tmp_path / 'report.txt'
  status = build_benchmark.main([
      '--images', '200', '--small', '--contenders', 'plain,floor',
      '--repeats', '1', '--work_dir', str(tmp_path / 'work'),
      '--report', str(report_path),
  ])
  assert status == 0
  printed = capsys.readouterr().out
  report = report_path.read_text()
  assert report.strip() in printed
  header = next(line for line in report.splitlines() if line.startswith('contender '))
  columns = [c.strip() for c in header.split('  ') if c.strip()]
  assert columns == list(tables.COMPARISON_COLUMNS)
  rows = _table_rows(report)
  plain_label = contenders.CONTENDERS['plain'].label
  floor_label = contenders.CONTENDERS['floor'].label
  assert set(rows) == {plain_label, floor_label}
  cell = {name: i for i, name in enumerate(columns[1:])}
  for label, cells in rows.items():
    assert len(cells) == len(columns) - 1, label
    for column in ('wall s', 'images/s', 'peak RSS MB', 'peak PSS MB',
                   'peak disk MB', 'vs floor'):
      assert _number(cells[cell[column]]) > 0, (label, column)
    # PSS splits shared pages, RSS counts them in full.
    assert _number(cells[cell['peak PSS MB']]) <= _number(cells[cell['peak RSS MB']])
    assert cells[cell['vs imagenet2012']] == '-'  # imagenet2012 was not run.
  plain, floor = rows[plain_label], rows[floor_label]
  # The build's phases come from TFDS's progress lines; the floor has none.
  generate, write = _number(plain[cell['generate s']]), _number(plain[cell['write s']])
  # The phases are timed from the log, polled every 0.2 s: the dummy build's
  # generation can fall inside one poll (0.0) on an idle machine.
  assert 0 <= generate and 0 <= write
  assert generate + write < _number(plain[cell['wall s']])
  assert floor[cell['generate s']] == floor[cell['write s']] == '-'
  # The floor reads each archive byte exactly once.
  assert _number(floor[cell['rchar/arch']]) == pytest.approx(1.0, abs=0.01)
  assert _number(floor[cell['vs floor']]) == 1.0
  assert 'Machine:' in report and 'Input: 200 64x64 JPEGs' in report
  assert '(No ratios: add imagenet2012 to --contenders.)' in report
  assert 'No scaling figures: they need the contenders plain_w1 and plain_w2' in report
  assert f'  {plain_label}: ' in report  # The memory breakdown.


def test_workers_flag_adds_plain_builds_with_num_workers() -> None:
  args = cli.parse_args(['--contenders', 'imagenet2012,plain_w1', '--workers', '1,2'])
  assert cli.contender_keys(args) == ['imagenet2012', 'plain_w1', 'plain_w2']
  args = cli.parse_args(['--workers', '4'])
  assert cli.contender_keys(args)[-1] == 'plain_w4'
  with pytest.raises(SystemExit, match='whole numbers'):
    cli.contender_keys(cli.parse_args(['--workers', 'two']))
  with pytest.raises(SystemExit, match='plain_w<N>'):
    cli.contender_keys(cli.parse_args(['--contenders', 'plain,fast']))


def test_worker_contender_passes_the_config_as_json(tmp_path: pathlib.Path) -> None:
  entry = contenders.contender('plain_w2')
  assert entry.num_workers == 2 and entry.label.endswith('2 workers')
  paths = contenders.RunPaths(tmp_path, tmp_path / 'out', tmp_path / 'tmp',
                              tmp_path / 'log.txt')
  inp = _input(tmp_path)
  options = contenders.Options(project_dir=tmp_path, work_dir=tmp_path)
  command = entry.command(inp, paths, options)
  assert command[1:3] == ['build', 'imagenet_custom']
  (config,) = [arg for arg in command if arg.startswith('--config=')]
  assert json.loads(config.removeprefix('--config=')) == {
      'name': 'w2', 'num_workers': 2
  }
  assert f'--manual_dir={inp.archives}' in command
  plain = contenders.contender('plain').command(inp, paths, options)
  assert command == [arg if arg != '--config=default' else config for arg in plain]


@pytest.mark.parametrize(
    'key, config',
    [('plain', 'default'), ('s256', 's256'), ('beam', 'default'), ('kaggle', 'default')],
)
def test_builds_name_their_config(tmp_path: pathlib.Path, key: str, config: str) -> None:
  # Without --config, `tfds build` builds default and then s256.
  paths = contenders.RunPaths(tmp_path, tmp_path / 'out', tmp_path / 'tmp',
                              tmp_path / 'log.txt')
  options = contenders.Options(project_dir=tmp_path, work_dir=tmp_path)
  command = contenders.contender(key).command(_input(tmp_path), paths, options)
  assert [arg for arg in command if arg.startswith('--config')] == [f'--config={config}']


def _input(root: pathlib.Path) -> contenders.inputs.BenchInput:
  """An input description (no files) rooted at `root`."""
  return contenders.inputs.BenchInput(
      root=root, small=True, num_train=90, num_val=10, num_classes=9,
      train_tar_bytes=900_000, val_tar_bytes=100_000,
  )


def test_a_failed_run_ends_with_status_1(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
  def fail(*args: object) -> str:
    raise contenders.BuildFailed('imagenet_custom plain, 1 worker exited with 1')

  monkeypatch.setattr(cli, 'compare_mode', fail)
  status = cli.main(['--workers', '1', '--cache', 'none',
                     '--work_dir', str(tmp_path)])
  assert status == 1
  assert 'Benchmark stopped: imagenet_custom plain, 1 worker exited' in (
      capsys.readouterr().err
  )
