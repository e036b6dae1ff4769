"""benchmarks/tar_gz_benchmark.py at a small scale: the archives it packs, and its report."""

from __future__ import annotations

import re
import tarfile

from benchmarks import tar_gz_benchmark
from imagenet_custom import layouts
from imagenet_custom.layouts import blurred


def test_packs_the_blurred_layout_and_times_every_step(tmp_path, capsys):
  argv = [f'--work_dir={tmp_path}', '--train_images=12', '--val_images=4', '--classes=2', '--repeats=1']
  # The baseline: this checkout's committed archive code, loaded from git.
  assert tar_gz_benchmark.main(argv + ['--baseline=HEAD']) == 0
  report = capsys.readouterr().out
  manual = tmp_path / tar_gz_benchmark.MANUAL_DIR
  assert sorted(p.name for p in manual.iterdir() if p.name.endswith('_blurred.tar.gz')) == [
      blurred.TRAIN_ARCHIVE, blurred.VAL_ARCHIVE,
  ]
  assert not (manual / blurred.TRAIN_DIR).exists()
  with tarfile.open(manual / blurred.TRAIN_ARCHIVE) as archive:
    names = archive.getnames()
  assert names[0] == blurred.TRAIN_DIR and names == sorted(names)
  reader = layouts.find_reader(manual)
  assert reader.layout == 'blurred' and len(reader.train_classes().names) == 2
  for step in ('inflate with zlib', 'index pass + index file', 'read every file through the index',
               'peak memory of the pass', 'peak memory of the reading'):
    assert report.count(step) == 2, step
  assert 'MB of disk' in report
  # Side by side: the baseline's column, this checkout's, and their ratio.
  header = next(line for line in report.splitlines() if 'this checkout' in line)
  assert header.split()[0] == 'baseline' and 'last / first' in header
  for step in ('index pass + index file', 'read every file through the index'):
    for line in (line for line in report.splitlines() if step in line):
      assert len(re.findall(r'\d\.\d\d s', line)) == 2 and line.endswith('x the time'), line
  points = [line for line in report.splitlines() if 'kB,' in line]
  assert len(points) == 2 and all(line.count('points') == 2 for line in points)
  stamp = (tmp_path / tar_gz_benchmark.STAMP).stat().st_mtime_ns
  assert tar_gz_benchmark.main(argv) == 0  # the input is reused
  assert (tmp_path / tar_gz_benchmark.STAMP).stat().st_mtime_ns == stamp
  alone = capsys.readouterr().out
  assert 'baseline' not in alone and 'last / first' not in alone
  assert alone.count('this checkout') == 2

