"""benchmarks/check_benchmark.py at a small scale: the layout it writes, and its report."""

from __future__ import annotations

import re
import tarfile

from benchmarks import check_benchmark
from imagenet_custom.testing import names
from imagenet_custom.tools import check

SMALL = check_benchmark.Scale(classes=4, train_images=30, val_images=20, seed=1)


def test_layout_has_the_counts_and_real_style_names(tmp_path):
  written = check_benchmark.write_layout(tmp_path, SMALL)
  assert written == {'train': 30, 'val': 20, 'blacklisted': 1}
  with tarfile.open(tmp_path / names.TRAIN_TAR) as train:
    inner_names = train.getnames()
    first = train.extractfile(inner_names[0])
    assert first is not None
    with tarfile.open(fileobj=first) as inner:
      image_names = inner.getnames()
  assert len(inner_names) == 4 and all(n.endswith('.tar') for n in inner_names)
  wnid = inner_names[0].removesuffix('.tar')
  assert all(n.startswith(f'{wnid}_') and n.endswith('.JPEG') for n in image_names)
  with tarfile.open(tmp_path / names.VAL_TAR) as val:
    assert val.getnames() == [f'ILSVRC2012_val_{n:08d}.JPEG' for n in range(1, 21)]
  result = check.run_check(tmp_path, tmp_path / 'out')
  assert result.exit_code == 0, result.lines
  assert sum(result.counts.values()) == 50
  assert result.not_images == [] and result.missing == []


def test_main_writes_once_and_times_the_check(tmp_path, capsys):
  argv = [
      f'--out={tmp_path}', '--repeats=2', '--cache=none', '--classes=4',
      '--train_images=30', '--val_images=20',
  ]
  assert check_benchmark.main(argv) == 0
  first = capsys.readouterr().out
  assert 'wrote ' in first
  assert len(re.findall(r'^check \d \(warm page cache\): [\d.]+ s, exit status 0$', first, re.M)) == 2
  assert 'warm: median' in first
  stamp = (tmp_path / check_benchmark.STAMP).stat().st_mtime_ns
  assert check_benchmark.main(argv[:2] + ['--repeats=1'] + argv[2:]) == 0
  assert 'wrote ' not in capsys.readouterr().out  # reused
  assert (tmp_path / check_benchmark.STAMP).stat().st_mtime_ns == stamp
