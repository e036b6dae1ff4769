"""Bad input: every failure names the culprit, says what to do, and leaves
no finished dataset behind; skips are counted and listed."""

from __future__ import annotations

import io
import pathlib
import shutil
import tarfile
from unittest import mock

import pytest

from imagenet_custom.build import report as report_lib
from imagenet_custom.errors import BadFileError
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import checksums

from builds import build
from builds import DUMMY
from builds import read_all

TRAIN_TAR = 'ILSVRC2012_img_train.tar'


def _copy(layout: str, tmp_path: pathlib.Path) -> pathlib.Path:
  target = tmp_path / layout
  shutil.copytree(DUMMY / layout, target)
  return target


def _assert_not_finalised(data_dir: pathlib.Path) -> None:
  assert not list(data_dir.glob('imagenet_custom/*/*/dataset_info.json'))


def _build_fails(manual_dir, tmp_path, error=InputError, **config) -> str:
  data_dir = tmp_path / 'out'
  with pytest.raises(error) as raised:
    build(manual_dir, data_dir, **config)
  _assert_not_finalised(data_dir)
  return str(raised.value)


def test_missing_manual_dir_lists_what_each_layout_needs(tmp_path):
  message = _build_fails(tmp_path / 'nowhere', tmp_path, error=AssertionError)
  assert str(tmp_path / 'nowhere') in message
  assert TRAIN_TAR in message and 'ILSVRC/Data/CLS-LOC' in message and 'train/<wnid>' in message


def test_empty_manual_dir_lists_what_each_layout_needs(tmp_path):
  (tmp_path / 'empty').mkdir()
  message = _build_fails(tmp_path / 'empty', tmp_path, error=AssertionError)
  assert 'does not exist or is empty' in message and TRAIN_TAR in message


def test_unrecognised_manual_dir(tmp_path):
  manual = tmp_path / 'manual'
  manual.mkdir()
  (manual / 'notes.txt').write_text('hello')
  message = _build_fails(manual, tmp_path)
  assert 'No ImageNet layout found in' in message and 'notes.txt' in message
  assert TRAIN_TAR in message and 'LOC_val_solution.csv' in message


def test_truncated_outer_tar(tmp_path):
  manual = _copy('archives', tmp_path)
  data = (manual / TRAIN_TAR).read_bytes()
  (manual / TRAIN_TAR).write_bytes(data[: len(data) * 2 // 3])
  message = _build_fails(manual, tmp_path)
  assert TRAIN_TAR in message and 'truncated' in message
  assert f'Download {TRAIN_TAR} again' in message


def _outer_members(path: pathlib.Path) -> dict[str, tarfile.TarInfo]:
  with tarfile.open(path) as tar:
    return {m.name: m for m in tar.getmembers()}


def test_corrupt_inner_class_tar(tmp_path):
  manual = _copy('archives', tmp_path)
  inner = _outer_members(manual / TRAIN_TAR)['n01530575.tar']
  data = bytearray((manual / TRAIN_TAR).read_bytes())
  # Garble the second member header of the inner tar (after a 512-byte header
  # and the first image's data, rounded up to a block).
  with tarfile.open(fileobj=io.BytesIO(bytes(data[inner.offset_data : inner.offset_data + inner.size]))) as t:
    second = t.getmembers()[1].offset
  start = inner.offset_data + second
  data[start : start + 100] = b'\x7f' * 100
  (manual / TRAIN_TAR).write_bytes(bytes(data))
  message = _build_fails(manual, tmp_path)
  assert f'{TRAIN_TAR}:n01530575.tar' in message and 'corrupt' in message


def test_inner_tar_not_a_wnid(tmp_path):
  manual = _copy('archives', tmp_path)
  with tarfile.open(manual / TRAIN_TAR, 'a') as tar:
    info = tarfile.TarInfo('tench.tar')
    info.size = 0
    tar.addfile(info, io.BytesIO(b''))
  message = _build_fails(manual, tmp_path)
  assert f"{TRAIN_TAR}:tench.tar: 'tench' is not one of the 1,000" in message


def test_class_folder_not_a_wnid(tmp_path):
  manual = _copy('folders', tmp_path)
  shutil.copytree(manual / 'train' / 'n01440764', manual / 'train' / 'tench')
  message = _build_fails(manual, tmp_path)
  assert "train/tench: 'tench' is not one of the 1,000" in message
  assert 'named by its WNID' in message


def test_truncated_box_archive(tmp_path):
  manual = _copy('archives', tmp_path)
  path = manual / 'ILSVRC2012_bbox_train_v2.tar.gz'
  path.write_bytes(path.read_bytes()[:700])
  message = _build_fails(manual, tmp_path)
  assert 'ILSVRC2012_bbox_train_v2.tar.gz: corrupt or truncated' in message


def _truncate_image(manual: pathlib.Path) -> pathlib.Path:
  victim = manual / 'train' / 'n01530575' / sorted(
      p.name for p in (manual / 'train' / 'n01530575').iterdir()
  )[0]
  data = victim.read_bytes()
  victim.write_bytes(data[: len(data) // 2])
  return victim


def test_truncated_jpeg_stops_the_build(tmp_path):
  manual = _copy('folders', tmp_path)
  victim = _truncate_image(manual)
  message = _build_fails(manual, tmp_path, error=BadFileError)
  assert str(victim) in message and 'JPEG does not decode' in message
  assert 'skip_bad_files=True' in message


def test_truncated_jpeg_is_skipped_and_reported(tmp_path):
  manual = _copy('folders', tmp_path)
  victim = _truncate_image(manual)
  builder = build(manual, tmp_path / 'out', skip_bad_files=True)
  report = report_lib.BuildReport.from_dict(builder.info.metadata['build_report'])
  assert report.imbalances() == []
  assert report.counts[report_lib.TRAIN_SKIPPED] == 1
  assert len(report.skipped) == 1 and report.skipped[0].startswith(str(victim))
  assert victim.name not in read_all(builder)
  assert builder.info.splits['train'].num_examples + builder.info.splits['validation'].num_examples == 40


def _kaggle_xml(manual: pathlib.Path) -> pathlib.Path:
  return manual / 'ILSVRC/Annotations/CLS-LOC/train/n01530575' / sorted(
      p.name for p in (manual / 'ILSVRC/Annotations/CLS-LOC/train/n01530575').iterdir()
  )[0]


def test_broken_annotation_stops_or_is_skipped(tmp_path):
  manual = _copy('kaggle', tmp_path)
  xml = _kaggle_xml(manual)
  xml.write_bytes(b'<annotation><size><width>')
  message = _build_fails(manual, tmp_path / 'a', error=BadFileError)
  assert str(xml) in message and 'XML does not parse' in message
  builder = build(manual, tmp_path / 'b', skip_bad_files=True)
  report = report_lib.BuildReport.from_dict(builder.info.metadata['build_report'])
  assert report.counts[report_lib.ANNOTATIONS_SKIPPED] == 1
  assert report.skipped[0].startswith(str(xml))
  image = read_all(builder)[xml.stem + '.JPEG']
  assert image.bboxes.shape == (0, 4)  # The image is kept, without boxes.


def test_val_image_without_label(tmp_path):
  manual = _copy('kaggle', tmp_path)
  val = manual / 'ILSVRC/Data/CLS-LOC/val'
  shutil.copy(val / 'ILSVRC2012_val_00000001.JPEG', val / 'ILSVRC2012_val_00000099.JPEG')
  message = _build_fails(manual, tmp_path)
  assert '1 val images have no label' in message and 'ILSVRC2012_val_00000099' in message


def test_label_sources_disagree(tmp_path):
  manual = _copy('kaggle', tmp_path)
  csv = manual / 'LOC_val_solution.csv'
  lines = csv.read_text().splitlines()
  row = next(i for i, line in enumerate(lines) if line.startswith('ILSVRC2012_val_00000005,'))
  old_wnid = lines[row].split(',')[1].split()[0]
  new_wnid = 'n01440764' if old_wnid != 'n01440764' else 'n01530575'
  lines[row] = lines[row].replace(old_wnid, new_wnid)
  csv.write_text('\n'.join(lines) + '\n')
  message = _build_fails(manual, tmp_path)
  assert 'Val label sources disagree on 1 images' in message
  assert 'ILSVRC2012_val_00000005: ' in message
  assert new_wnid in message and old_wnid in message and 'LOC_val_solution.csv' in message


def test_devkit_of_the_wrong_shape(tmp_path):
  manual = _copy('kaggle', tmp_path)
  mapping = manual / 'ILSVRC/devkit/data/map_clsloc.txt'
  mapping.write_text(''.join(mapping.read_text().splitlines(True)[:-1]))
  message = _build_fails(manual, tmp_path)
  assert str(mapping) in message and 'expected 1000 classes, found 999' in message


def test_ground_truth_id_out_of_range(tmp_path):
  manual = _copy('kaggle', tmp_path)
  truth = manual / 'ILSVRC/devkit/data/ILSVRC2015_clsloc_validation_ground_truth.txt'
  lines = truth.read_text().splitlines()
  lines[3] = '1001'
  truth.write_text('\n'.join(lines) + '\n')
  message = _build_fails(manual, tmp_path)
  assert f'{truth}, line 4' in message and 'not an ILSVRC class ID' in message


def test_size_mismatch_is_a_warning_naming_the_file():
  warnings = checksums.check_sizes({TRAIN_TAR: _epath(DUMMY / 'archives' / TRAIN_TAR)})
  assert len(warnings) == 1
  assert TRAIN_TAR in warnings[0] and '147,897,477,120' in warnings[0]


def _epath(path: pathlib.Path):
  from etils import epath  # pylint: disable=g-import-not-at-top

  return epath.Path(path)


def test_checksum_mismatch_fails_before_finalising(tmp_path):
  message = _build_fails(DUMMY / 'archives', tmp_path, verify_checksums=True)
  assert f'{TRAIN_TAR}: SHA-256' in message and 'differs from the official' in message


def test_checksum_match_builds(tmp_path):
  import hashlib  # pylint: disable=g-import-not-at-top

  table = {
      name: checksums.Expected(
          (DUMMY / 'archives' / name).stat().st_size,
          hashlib.sha256((DUMMY / 'archives' / name).read_bytes()).hexdigest(),
      )
      for name in (TRAIN_TAR, 'ILSVRC2012_img_val.tar')
  }
  with mock.patch.object(checksums, 'expected_archives', return_value=table):
    builder = build(DUMMY / 'archives', tmp_path / 'out', verify_checksums=True)
  assert builder.info.splits['train'].num_examples == 32
