"""The pre-flight check on the dummy data: counts, broken inputs, exit codes, no writes."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from imagenet_custom.layouts.official_archives import ArchiveReader
from imagenet_custom.testing import blurred as blurred_data
from imagenet_custom.testing import eval_sets as eval_fakes
from imagenet_custom.testing import kaggle_zip as kaggle_zip_data
from imagenet_custom.tools import check
from imagenet_custom.tools import check_estimate

from builds import DUMMY
from builds import LAYOUTS
from builds import REPO


def _tree(root: pathlib.Path) -> dict[str, tuple[int, int]]:
  """Every file under root with its size and modification time."""
  return {
      str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
      for p in root.rglob('*')
  }


def _copy(layout: str, tmp_path: pathlib.Path) -> pathlib.Path:
  manual = tmp_path / layout
  shutil.copytree(DUMMY / layout, manual)
  return manual


@pytest.mark.parametrize('layout', LAYOUTS)
def test_good_layout_counts_match_the_build(layout, built, tmp_path):
  before = _tree(DUMMY / layout)
  out = tmp_path / 'not' / 'created'
  result = check.run_check(DUMMY / layout, out)
  assert result.exit_code == 0, result.lines
  assert result.layout == layout
  assert result.counts == {
      split: info.num_examples for split, info in built[layout].info.splits.items()
  }
  assert result.counts == {'train': 32, 'validation': 9, 'test': 21, 'test_blacklisted': 3}
  report = built[layout].info.metadata['build_report']
  assert result.junk == report['counts']['junk_files_ignored']
  assert len(result.classes_without_train) == len(result.classes_without_val) == 994
  assert 'n01440764' not in result.classes_without_train
  assert (result.missing, result.unlisted, result.not_images) == ([], [], [])
  assert [p.rsplit(':', 1)[-1].rsplit('/', 1)[-1] for p in result.reencoded] == [
      'n01440764_14256.JPEG'
  ]
  assert not out.exists() and not out.parent.exists()
  assert _tree(DUMMY / layout) == before
  assert any(line.startswith('time: about ') and 'measured now on 32 images' in line
             for line in result.lines)


def test_archive_sizes_are_compared_with_checksums_tsv():
  result = check.run_check(DUMMY / 'archives', '/nonexistent/out')
  assert '  ILSVRC2012_img_train.tar: 163,840 bytes, published 147,897,477,120: MISMATCH' in result.lines
  assert len(result.warnings) == 2 and result.exit_code == 0


def test_empty_dir_exits_1(tmp_path):
  result = check.run_check(tmp_path)
  assert result.exit_code == 1 and result.layout is None
  assert result.problems[0].startswith(f'No ImageNet layout found in {tmp_path}')


def test_file_that_is_not_an_image_exits_1(tmp_path):
  manual = _copy('folders', tmp_path)
  bad = manual / 'train' / 'n03126707' / 'n03126707_99.JPEG'
  bad.write_bytes(b'<html>Access denied</html>')
  result = check.run_check(manual, tmp_path / 'out')
  assert result.exit_code == 1
  assert result.not_images == [str(bad)]
  assert result.problems == [
      f'1 files are not images ({bad}): a build stops at the first. Replace'
      ' them with good copies, or build with config skip_bad_files=True.'
  ]
  assert result.counts['train'] + result.counts['validation'] == 42


def test_misplaced_and_missing_images(tmp_path):
  manual = _copy('folders', tmp_path)
  source = manual / 'train' / 'n03126707'
  moved = sorted(source.iterdir())[0]
  moved.rename(manual / 'train' / 'n01440764' / moved.name)
  (manual / 'val' / 'n02012849' / 'ILSVRC2012_val_00000022.JPEG').unlink()
  result = check.run_check(manual, tmp_path / 'out')
  assert result.missing == ['ILSVRC2012_val_00000022.JPEG']
  assert result.unlisted == [
      f'{manual}/train/n01440764/{moved.name} (not n01440764_<n>)'
  ]
  assert result.exit_code == 0  # a build starts: these are reported, not fatal
  assert result.counts['test'] + result.counts['test_blacklisted'] == 23


def test_val_without_labels_exits_1(tmp_path):
  manual = tmp_path / 'manual'
  shutil.copytree(DUMMY / 'kaggle' / 'ILSVRC' / 'Data', manual / 'ILSVRC' / 'Data')
  result = check.run_check(manual, tmp_path / 'out')
  assert result.exit_code == 1 and result.layout == 'kaggle'
  assert 'no val labels' in result.problems[0]


def test_not_enough_disk_exits_1(tmp_path, monkeypatch):
  monkeypatch.setattr(
      check_estimate.shutil, 'disk_usage', lambda path: shutil._ntuple_diskusage(10**9, 10**9, 1000)
  )
  result = check.run_check(DUMMY / 'folders', tmp_path)
  assert result.exit_code == 1
  assert result.problems[0].startswith(f'{tmp_path} has 1.0 KB free; the build needs about')


def test_blurred_layout_counts_missing(tmp_path):
  facts = blurred_data.write_blurred(DUMMY / 'folders', tmp_path / 'manual')
  result = check.run_check(tmp_path / 'manual', tmp_path / 'out')
  assert result.exit_code == 0 and result.layout == 'blurred'
  assert sorted(result.missing) == facts['missing']
  assert result.counts == {'train': 30, 'validation': 9, 'test': 19, 'test_blacklisted': 3}
  assert result.reencoded == []  # the blurred release is all JPEG


def test_blurred_archives_are_checked_in_place(tmp_path):
  facts = blurred_data.write_blurred(DUMMY / 'folders', tmp_path / 'manual', archives=True)
  before = _tree(tmp_path)
  result = check.run_check(tmp_path / 'manual', tmp_path / 'out')
  assert result.exit_code == 0 and result.layout == 'blurred'
  assert sorted(result.missing) == facts['missing']
  assert result.counts == {'train': 30, 'validation': 9, 'test': 19, 'test_blacklisted': 3}
  assert any('train images: ' in line and line.endswith('train_blurred.tar.gz') for line in result.lines)
  assert _tree(tmp_path) == before  # no index file either


def test_archive_heads_come_from_the_listing(monkeypatch):
  # The official archives: the listing's first bytes are checked; only the
  # timing sample and images that are not JPEG are made into sources.
  made = []
  original = ArchiveReader._source

  def recorded(self, *args):
    made.append(args)
    return original(self, *args)

  monkeypatch.setattr(ArchiveReader, '_source', recorded)
  result = check.run_check(DUMMY / 'archives', '/nonexistent/out')
  assert result.exit_code == 0 and len(result.reencoded) == 1
  assert len(made) <= check.RATE_SAMPLE + 6 + 1  # per-class rounding, the PNG


def test_kaggle_zip_is_checked_in_place(tmp_path):
  kaggle_zip_data.write_kaggle_zip(DUMMY / 'kaggle', tmp_path / 'manual', 'deflated')
  before = _tree(tmp_path)
  result = check.run_check(tmp_path / 'manual', tmp_path / 'out')
  assert result.exit_code == 0 and result.layout == 'kaggle_zip'
  assert result.counts == {'train': 32, 'validation': 9, 'test': 21, 'test_blacklisted': 3}
  assert len(result.reencoded) == 1
  assert _tree(tmp_path) == before


def test_command_line_exit_codes(tmp_path):
  env = dict(os.environ, PYTHONPATH=str(REPO))
  good = subprocess.run(
      [sys.executable, '-m', 'imagenet_custom.tools.check', f'--manual_dir={DUMMY / "folders"}',
       f'--data_dir={tmp_path / "out"}'],
      capture_output=True, text=True, env=env, check=False,
  )
  assert good.returncode == 0, good.stderr
  assert 'result: a build would start (exit status 0)' in good.stdout
  bad = subprocess.run(
      [sys.executable, '-m', 'imagenet_custom.tools.check', f'--manual_dir={tmp_path}'],
      capture_output=True, text=True, env=env, check=False,
  )
  assert bad.returncode == 1
  assert 'result: a build would NOT start' in bad.stdout
  assert not (tmp_path / 'out').exists()



@pytest.mark.parametrize('layout', LAYOUTS)
def test_shard_size_estimate_is_within_5_percent(layout, built):
  result = check.run_check(DUMMY / layout, '/nonexistent/out')
  written = sum(
      os.path.getsize(p)
      for p in pathlib.Path(str(built[layout].data_path)).iterdir()
      if '.tfrecord' in p.name
  )
  estimate = result.image_bytes + check.RECORD_FRAMING_BYTES * sum(result.counts.values())
  assert abs(estimate - written) / written < 0.05, (estimate, written)


def _disk_line(result) -> str:
  (line,) = [line for line in result.lines if line.startswith('disk at ')]
  return line


def test_disk_needed_counts_the_spill_of_images_left_in_the_input(tmp_path):
  # Images stored unchanged stay in the input: the spill is a few hundred
  # bytes an image, against ~2 KB an example for the dummy images.
  result = check.run_check(DUMMY / 'archives', tmp_path)
  line = _disk_line(result)
  assert 'temporary spill files' in line and 'spill_images' in line
  units = {'bytes': 1, 'KB': 1e3, 'MB': 1e6, 'GB': 1e9, 'TB': 1e12}

  def size_after(marker: str) -> float:
    value, unit = line.split(marker)[1].split()[:2]
    return float(value.replace(',', '')) * units[unit.rstrip(',)')]

  assert 0 < size_after('plus up to ') < 0.2 * size_after('(shards ')


def test_evaluation_sets_alone_are_a_build_that_starts(tmp_path):
  manual = tmp_path / 'manual'
  expected = eval_fakes.write_eval_sets(manual)
  before = _tree(manual)
  result = check.run_check(manual, tmp_path / 'out')
  assert result.exit_code == 0, result.lines
  assert result.layout == 'eval_sets_only'
  # `auto` builds every set but ObjectNet, which must be asked for.
  assert result.counts == {split: len(files) for split, files in expected.items() if split != 'objectnet'}
  assert any('ObjectNet found but not built' in line for line in result.lines)
  assert _tree(manual) == before and not (tmp_path / 'out').exists()


def test_evaluation_sets_asked_for_are_listed_and_a_missing_one_stops_the_build(tmp_path):
  manual = tmp_path / 'manual'
  expected = eval_fakes.write_eval_sets(manual, splits=['imagenet_a', 'objectnet'])
  result = check.run_check(manual, tmp_path / 'out', eval_sets='imagenet_a,objectnet')
  assert result.exit_code == 0, result.lines
  assert result.counts == {'imagenet_a': len(expected['imagenet_a']), 'objectnet': len(expected['objectnet'])}
  assert any(line.startswith('  objectnet: ') and 'of classes outside ImageNet-1k' in line for line in result.lines)
  missing = check.run_check(manual, tmp_path / 'out', eval_sets='imagenet_r')
  assert missing.exit_code == 1
  assert 'Config eval_sets asks for sets not in the manual dir: imagenet_r (imagenet-r.tar' in missing.problems[0]


def test_evaluation_sets_beside_imagenet_add_their_splits(tmp_path):
  manual = _copy('archives', tmp_path)
  expected = eval_fakes.write_eval_sets(manual, splits=['imagenet_sketch'])
  result = check.run_check(manual, tmp_path / 'out')
  assert result.exit_code == 0, result.lines
  assert result.layout == 'archives'
  assert result.counts == {
      'train': 32, 'validation': 9, 'test': 21, 'test_blacklisted': 3,
      'imagenet_sketch': len(expected['imagenet_sketch']),
  }
