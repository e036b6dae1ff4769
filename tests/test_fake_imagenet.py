"""End-to-end tests of the fake ImageNet generator (`fake_imagenet`).

They write whole downloads and check the files; the package's modules have
unit tests of their own (`test_fake_imagenet_<module>.py`).
"""

from __future__ import annotations

import collections
import hashlib
import io
import pathlib
import tarfile

from lxml import etree
import numpy as np
from PIL import Image
import pytest
import scipy.io

from imagenet_custom.testing import fake_imagenet as fake
from imagenet_custom.testing import names
from imagenet_custom.testing import planning
from imagenet_custom.testing import quirks
from imagenet_custom.testing import spec as spec_lib

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
CHECKED_IN_DUMMY_DATA = REPO_ROOT / 'dummy_data'
# Files in dummy_data/ that the generator does not write.
NOT_GENERATED = frozenset({'README.md'})
OFFICIAL_METADATA = frozenset(
    {names.BBOX_TRAIN_TAR, names.BBOX_VAL_TAR, names.DEVKIT_TAR}
)
PIL_FORMAT = {'RGB': 'JPEG', 'L': 'JPEG', 'CMYK': 'JPEG', 'PNG': 'PNG'}
PIL_MODE = {'RGB': 'RGB', 'L': 'L', 'CMYK': 'CMYK', 'PNG': 'RGB'}
REALISTIC_MIN_MEAN_BYTES = 80_000


@pytest.fixture(scope='module')
def dummy_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
  """A fresh dummy-preset output, shared by the module's tests."""
  out = tmp_path_factory.mktemp('dummy')
  fake.write_fake_imagenet(out, fake.dummy_spec())
  return out


@pytest.fixture(scope='module')
def manifest(dummy_dir: pathlib.Path) -> fake.Manifest:
  """The manifest of `dummy_dir`, read back from JSON."""
  return fake.load_manifest(dummy_dir / fake.MANIFEST_NAME)


def _tree(root: pathlib.Path) -> dict[str, bytes]:
  """Every generated file under `root` by relative path.

  Args:
    root: a generator output directory.

  Returns:
    File bytes by POSIX relative path.
  """
  return {
      path.relative_to(root).as_posix(): path.read_bytes()
      for path in sorted(root.rglob('*'))
      if path.is_file() and path.name not in NOT_GENERATED
  }


def _assert_same_tree(left: pathlib.Path, right: pathlib.Path) -> None:
  """Asserts two directories hold the same files with the same bytes.

  Args:
    left: a directory.
    right: another.
  """
  left_files, right_files = _tree(left), _tree(right)
  assert sorted(left_files) == sorted(right_files)
  differing = [
      name for name in left_files if left_files[name] != right_files[name]
  ]
  assert not differing, f'files differ: {differing}'


def _tar_files(archive: pathlib.Path | bytes) -> dict[str, bytes]:
  """The file members of a (possibly gzipped) tar (directories left out).

  Args:
    archive: its path or bytes.

  Returns:
    Member bytes by name, in archive order.
  """
  if isinstance(archive, bytes):
    opened = tarfile.open(fileobj=io.BytesIO(archive))
  else:
    opened = tarfile.open(archive)
  files = {}
  with opened:
    for member in opened.getmembers():
      content = opened.extractfile(member) if member.isfile() else None
      if content is not None:
        files[member.name] = content.read()
  return files


def _files_under(root: pathlib.Path) -> set[str]:
  """Relative POSIX paths of the files under `root`.

  Args:
    root: a directory.

  Returns:
    The paths.
  """
  return {
      path.relative_to(root).as_posix()
      for path in root.rglob('*')
      if path.is_file()
  }


def _images(manifest: fake.Manifest, split: str) -> list[fake.ImageRecord]:
  """The manifest's images of one split (`train` or `val`)."""
  return [image for image in manifest.images if image.split_source == split]


def _junk_names(manifest: fake.Manifest, layout: str) -> set[str]:
  """Junk files of a layout, relative to it (archive members excluded).

  Args:
    manifest: the manifest.
    layout: the layout directory name.

  Returns:
    The relative paths.
  """
  prefix = layout + '/'
  return {
      location.removeprefix(prefix)
      for location in manifest.junk_files
      if location.startswith(prefix) and names.MEMBER_SEPARATOR not in location
  }


def _stem(file_name: str) -> str:
  """`n01440764_1.JPEG` -> `n01440764_1`."""
  return file_name.removesuffix(names.IMAGE_SUFFIX)


def _train_annotation_stems(manifest: fake.Manifest) -> set[tuple[str, str]]:
  """`(wnid, stem)` of every train annotation, orphans included."""
  stems = {
      (image.wnid, _stem(image.file_name))
      for image in _images(manifest, 'train')
      if image.boxes is not None
  }
  wnid_of = {stem: stem.split('_')[0] for stem in manifest.orphan_annotations}
  return stems | {(wnid_of[stem], stem) for stem in manifest.orphan_annotations}


# --- Determinism ------------------------------------------------------------


def test_two_runs_are_byte_identical(
    dummy_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
  fake.write_fake_imagenet(tmp_path, fake.dummy_spec())
  _assert_same_tree(dummy_dir, tmp_path)


def test_checked_in_dummy_data_is_regenerated_exactly(
    dummy_dir: pathlib.Path,
) -> None:
  if not (CHECKED_IN_DUMMY_DATA / fake.MANIFEST_NAME).exists():
    pytest.skip('dummy_data/ has not been generated')
  _assert_same_tree(CHECKED_IN_DUMMY_DATA, dummy_dir)


def test_another_seed_gives_other_data(
    manifest: fake.Manifest, tmp_path: pathlib.Path
) -> None:
  other = fake.write_fake_imagenet(tmp_path, fake.dummy_spec(seed=1))
  assert other.ilsvrc_ids != manifest.ilsvrc_ids
  assert {i.sha256 for i in other.images}.isdisjoint(
      {i.sha256 for i in manifest.images}
  )


def test_refuses_to_overwrite_unless_asked(dummy_dir: pathlib.Path) -> None:
  with pytest.raises(FileExistsError):
    fake.write_fake_imagenet(dummy_dir, fake.dummy_spec())


# --- Layout files -----------------------------------------------------------


def test_archives_layout_has_the_official_files(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  archives = dummy_dir / fake.ARCHIVES
  assert _files_under(archives) == OFFICIAL_METADATA | {
      names.TRAIN_TAR, names.VAL_TAR
  }

  train = _tar_files(archives / names.TRAIN_TAR)
  per_class = manifest.counts['train_images_per_class']
  assert list(train) == [f'{wnid}.tar' for wnid in sorted(per_class)]
  for wnid in per_class:
    member_names = {
        name for name in _tar_files(train[f'{wnid}.tar'])
        if not name.startswith(names.APPLE_DOUBLE_PREFIX)
    }
    expected = {
        i.file_name for i in _images(manifest, 'train') if i.wnid == wnid
    }
    assert member_names == expected

  val = _tar_files(archives / names.VAL_TAR)
  images = {
      name for name in val if not name.startswith(names.APPLE_DOUBLE_PREFIX)
  }
  assert images == {i.file_name for i in _images(manifest, 'val')}

  bbox_train = _tar_files(archives / names.BBOX_TRAIN_TAR)
  xmls = set(bbox_train)
  assert xmls == {
      f'{wnid}/{stem}.xml' for wnid, stem in _train_annotation_stems(manifest)
  }
  bbox_val = _tar_files(archives / names.BBOX_VAL_TAR)
  xmls = set(bbox_val)
  assert xmls == {
      f'val/{_stem(i.file_name)}.xml' for i in _images(manifest, 'val')
  }

  devkit = _tar_files(archives / names.DEVKIT_TAR)
  assert set(devkit) == {
      f'{names.DEVKIT_DATA}/{name}'
      for name in (names.META_MAT, names.GROUND_TRUTH_2012, names.BLACKLIST_2012)
  }


def test_archives_hold_the_planted_apple_double_members(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  members = [
      location.split(names.MEMBER_SEPARATOR)
      for location in manifest.junk_files
      if names.MEMBER_SEPARATOR in location
  ]
  assert len(members) == 2
  for path, *inner in members:
    content = _tar_files(dummy_dir / path)
    for name in inner[:-1]:
      content = _tar_files(content[name])
    assert content[inner[-1]] == quirks.APPLE_DOUBLE_BYTES
  assert {path for path, *_ in members} == {
      f'{fake.ARCHIVES}/{names.TRAIN_TAR}', f'{fake.ARCHIVES}/{names.VAL_TAR}'
  }


def test_kaggle_layout_has_the_kaggle_files(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  kaggle = dummy_dir / fake.KAGGLE
  train_images = {
      f'{names.KAGGLE_IMAGES}/train/{i.wnid}/{i.file_name}'
      for i in _images(manifest, 'train')
  }
  val_images = {
      f'{names.KAGGLE_IMAGES}/val/{i.file_name}'
      for i in _images(manifest, 'val')
  }
  train_xmls = {
      f'{names.KAGGLE_ANNOTATIONS}/train/{wnid}/{stem}.xml'
      for wnid, stem in _train_annotation_stems(manifest)
  }
  val_xmls = {
      f'{names.KAGGLE_ANNOTATIONS}/val/{_stem(i.file_name)}.xml'
      for i in _images(manifest, 'val')
  }
  metadata = {
      f'{names.KAGGLE_IMAGE_SETS}/train_cls.txt',
      f'{names.KAGGLE_IMAGE_SETS}/val.txt',
      names.KAGGLE_SYNSET_MAPPING,
      names.KAGGLE_TRAIN_SOLUTION,
      names.KAGGLE_VAL_SOLUTION,
      f'{names.KAGGLE_DEVKIT_DATA}/{names.KAGGLE_MAP_CLSLOC}',
      f'{names.KAGGLE_DEVKIT_DATA}/{names.GROUND_TRUTH_2015}',
      f'{names.KAGGLE_DEVKIT_DATA}/{names.BLACKLIST_2015}',
  }
  junk = _junk_names(manifest, fake.KAGGLE)
  assert junk
  assert _files_under(kaggle) == (
      train_images | val_images | train_xmls | val_xmls | metadata | junk
  )


def test_kaggle_text_files_match_the_manifest(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  kaggle = dummy_dir / fake.KAGGLE
  train_cls = (kaggle / names.KAGGLE_IMAGE_SETS / 'train_cls.txt').read_text()
  expected = sorted(
      f'{i.wnid}/{_stem(i.file_name)}' for i in _images(manifest, 'train')
  )
  assert train_cls.splitlines() == [
      f'{stem} {k}' for k, stem in enumerate(expected, start=1)
  ]
  val_rows = (kaggle / names.KAGGLE_VAL_SOLUTION).read_text().splitlines()
  assert val_rows[0] == names.LOC_SOLUTION_HEADER
  by_stem = {row.split(',')[0]: row.split(',')[1] for row in val_rows[1:]}
  for image in _images(manifest, 'val'):
    tokens = by_stem[_stem(image.file_name)].split()
    assert len(tokens) % 5 == 0 and set(tokens[::5]) == {image.wnid}
  train_rows = (kaggle / names.KAGGLE_TRAIN_SOLUTION).read_text().splitlines()
  assert len(train_rows) - 1 == manifest.counts['num_train_annotations']
  mapping = (kaggle / names.KAGGLE_SYNSET_MAPPING).read_text().splitlines()
  assert [line.split()[0] for line in mapping] == sorted(manifest.ilsvrc_ids)


def test_folders_layout_has_class_folders_and_official_metadata(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  folders = dummy_dir / fake.FOLDERS
  images = {
      f'{i.split_source}/{i.wnid}/{i.file_name}' for i in manifest.images
  }
  junk = _junk_names(manifest, fake.FOLDERS)
  assert {'train/.DS_Store'} <= junk
  assert any(name.endswith('Thumbs.db') for name in junk)
  assert _files_under(folders) == images | junk | OFFICIAL_METADATA
  for name in OFFICIAL_METADATA:
    assert (folders / name).read_bytes() == (
        dummy_dir / fake.ARCHIVES / name
    ).read_bytes()


def test_images_are_the_same_bytes_in_every_layout(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  archives = dummy_dir / fake.ARCHIVES
  train_tar = _tar_files(archives / names.TRAIN_TAR)
  val_tar = _tar_files(archives / names.VAL_TAR)
  class_tars = {name: _tar_files(data) for name, data in train_tar.items()}
  for image in manifest.images:
    if image.split_source == 'train':
      copies = [
          class_tars[f'{image.wnid}.tar'][image.file_name],
          (dummy_dir / fake.KAGGLE / names.KAGGLE_IMAGES / 'train' / image.wnid
           / image.file_name).read_bytes(),
      ]
    else:
      copies = [
          val_tar[image.file_name],
          (dummy_dir / fake.KAGGLE / names.KAGGLE_IMAGES / 'val'
           / image.file_name).read_bytes(),
      ]
    copies.append(
        (dummy_dir / fake.FOLDERS / image.split_source / image.wnid
         / image.file_name).read_bytes()
    )
    assert {hashlib.sha256(copy).hexdigest() for copy in copies} == {
        image.sha256
    }, image.file_name


# --- Manifest ---------------------------------------------------------------


def test_manifest_counts_match_the_files(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  counts = manifest.counts
  folders = dummy_dir / fake.FOLDERS
  train_per_class = collections.Counter(
      path.parent.name for path in (folders / 'train').glob('*/*.JPEG')
      if not path.name.startswith(names.APPLE_DOUBLE_PREFIX)
  )
  assert dict(train_per_class) == counts['train_images_per_class']
  assert sum(train_per_class.values()) == counts['num_train_images']
  val_per_class = collections.Counter(
      path.parent.name for path in (folders / 'val').glob('*/*.JPEG')
  )
  assert dict(val_per_class) == counts['val_images_per_class']
  assert sum(val_per_class.values()) == counts['num_val_images']

  devkit = _tar_files(dummy_dir / fake.ARCHIVES / names.DEVKIT_TAR)
  data = names.DEVKIT_DATA
  ground_truth = devkit[f'{data}/{names.GROUND_TRUTH_2012}'].decode().split()
  assert len(ground_truth) == counts['num_val_images']
  blacklist = [int(n) for n in devkit[f'{data}/{names.BLACKLIST_2012}'].split()]
  assert len(blacklist) == counts['num_val_blacklisted']
  assert blacklist == sorted(blacklist)
  assert set(blacklist) == {
      i.val_index for i in _images(manifest, 'val') if i.blacklisted
  }
  by_number = sorted(_images(manifest, 'val'), key=lambda i: i.val_index or 0)
  assert ground_truth == [str(manifest.ilsvrc_ids[i.wnid]) for i in by_number]

  xml_dir = dummy_dir / fake.KAGGLE / names.KAGGLE_ANNOTATIONS
  assert len(list(xml_dir.rglob('*.xml'))) == (
      counts['num_train_annotations'] + counts['num_val_annotations']
  )
  assert len(manifest.images) == (
      counts['num_train_images'] + counts['num_val_images']
  )


def test_dummy_preset_shape(manifest: fake.Manifest) -> None:
  sizes = sorted(manifest.counts['train_images_per_class'].values())
  assert sizes[0] == 1 and 3 in sizes
  assert {'n02012849', 'n03126707', 'n01440764'} <= set(
      manifest.counts['train_images_per_class']
  )
  assert manifest.class_names['n02012849'] == 'crane'
  assert manifest.class_names['n03126707'] == 'crane'
  assert manifest.class_names['n03710637'] == 'maillot'
  assert manifest.class_names['n03710721'] == 'maillot'
  assert len(set(manifest.class_names.values())) == spec_lib.NUM_CLASSES - 2
  ids_in_sorted_order = [
      manifest.ilsvrc_ids[wnid] for wnid in sorted(manifest.ilsvrc_ids)
  ]
  assert sorted(ids_in_sorted_order) == list(range(1, spec_lib.NUM_CLASSES + 1))
  assert ids_in_sorted_order != sorted(ids_in_sorted_order)
  # The dummy preset plants every quirk there is.
  assert sorted(manifest.quirks) == sorted(quirks.QUIRKS)
  for quirk in quirks.QUIRKS:
    assert manifest.quirks.get(quirk), quirk


def test_images_have_the_planted_format_and_size(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  for image in manifest.images:
    folder = dummy_dir / fake.FOLDERS / image.split_source / image.wnid
    path = folder / image.file_name
    with Image.open(path) as opened:
      assert opened.format == PIL_FORMAT[image.planted], image.file_name
      assert opened.mode == PIL_MODE[image.planted], image.file_name
      assert opened.size == (image.width, image.height), image.file_name
  planted = collections.Counter(
      (image.split_source, image.planted) for image in manifest.images
  )
  assert planted[('train', 'CMYK')] == planted[('val', 'CMYK')] == 1
  assert planted[('train', 'L')] == planted[('val', 'L')] == 1
  assert planted[('train', 'PNG')] == 1


def test_expected_boxes_are_normalised(manifest: fake.Manifest) -> None:
  for image in manifest.images:
    for box in image.boxes or []:
      ymin, xmin, ymax, xmax = box
      assert 0 <= ymin < ymax <= 1 and 0 <= xmin < xmax <= 1, image.file_name
  assert all(i.boxes is not None for i in _images(manifest, 'val'))
  (several,) = manifest.quirks['several_objects']
  boxes = {i.file_name: i.boxes or [] for i in manifest.images}
  assert len(boxes[several]) == quirks.SEVERAL_OBJECTS
  (partly_outside,) = manifest.quirks['box_partly_outside']
  assert boxes[partly_outside][0][3] == 1.0


def _xml(dummy_dir: pathlib.Path, file_name: str, wnid: str) -> etree._Element:
  """The planted annotation of an image, from the Kaggle tree.

  Args:
    dummy_dir: the output directory.
    file_name: the image's file name.
    wnid: its class.

  Returns:
    The parsed XML root.
  """
  xml_dir = dummy_dir / fake.KAGGLE / names.KAGGLE_ANNOTATIONS
  stem = _stem(file_name)
  if stem.startswith('ILSVRC2012_val_'):
    path = xml_dir / 'val' / f'{stem}.xml'
  else:
    path = xml_dir / 'train' / wnid / f'{stem}.xml'
  return etree.fromstring(path.read_bytes())


def _planted(
    dummy_dir: pathlib.Path, manifest: fake.Manifest, quirk: str
) -> tuple[fake.ImageRecord, etree._Element]:
  """The one image carrying `quirk`, and its annotation.

  Args:
    dummy_dir: the output directory.
    manifest: its manifest.
    quirk: a quirk planted on exactly one image.

  Returns:
    The image record and its parsed XML.
  """
  (file_name,) = manifest.quirks[quirk]
  (image,) = [i for i in manifest.images if i.file_name == file_name]
  return image, _xml(dummy_dir, file_name, image.wnid)


def test_box_quirks_are_in_the_xml(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  image, root = _planted(dummy_dir, manifest, 'annotation_size_differs_from_jpeg')
  assert int(root.findtext('size/width')) != image.width
  _, root = _planted(dummy_dir, manifest, 'box_xmin_greater_than_xmax')
  assert float(root.findtext('object/bndbox/xmin')) > float(
      root.findtext('object/bndbox/xmax')
  )
  image, root = _planted(dummy_dir, manifest, 'box_entirely_outside')
  assert len(root.findall('object')) == len(image.boxes or []) + 1
  _, root = _planted(dummy_dir, manifest, 'float_coordinates')
  assert root.findtext('object/bndbox/xmin') == '12.5'
  _, root = _planted(dummy_dir, manifest, 'filename_placeholder')
  assert root.findtext('filename') == '%s'
  _, root = _planted(dummy_dir, manifest, 'name_is_breed_not_wnid')
  assert root.findtext('object/name') == 'tench'
  image, root = _planted(dummy_dir, manifest, 'box_partly_outside')
  assert float(root.findtext('object/bndbox/xmax')) > image.width
  (orphan,) = manifest.orphan_annotations
  file_names = {image.file_name for image in manifest.images}
  assert orphan + names.IMAGE_SUFFIX not in file_names


def test_meta_mat_reads_back_as_ints_and_strings(
    dummy_dir: pathlib.Path, manifest: fake.Manifest
) -> None:
  devkit = _tar_files(dummy_dir / fake.ARCHIVES / names.DEVKIT_TAR)
  data = devkit[f'{names.DEVKIT_DATA}/{names.META_MAT}']
  synsets = scipy.io.loadmat(io.BytesIO(data), squeeze_me=True)['synsets']
  assert len(synsets) == spec_lib.NUM_CLASSES + planning.NUM_INNER_NODES
  leaves = {}
  for record in synsets:
    assert isinstance(record['ILSVRC2012_ID'], int)
    assert isinstance(record['num_children'], int)
    assert isinstance(record['WNID'], str) and isinstance(record['words'], str)
    if record['num_children'] == 0:
      leaves[record['WNID']] = record['ILSVRC2012_ID']
    else:
      assert record['ILSVRC2012_ID'] > spec_lib.NUM_CLASSES
      assert len(np.atleast_1d(record['children'])) == record['num_children']
  assert leaves == manifest.ilsvrc_ids


def test_realistic_preset_is_real_sized_and_worker_independent(
    tmp_path: pathlib.Path,
) -> None:
  spec = fake.realistic_spec(num_train=12, num_val=4, num_classes=3)
  one = fake.write_fake_imagenet(tmp_path / 'one', spec, workers=1)
  two = fake.write_fake_imagenet(tmp_path / 'two', spec, workers=2)
  _assert_same_tree(tmp_path / 'one', tmp_path / 'two')
  assert one.counts['num_train_images'] == 12 and one.preset == 'realistic'
  assert {i.planted for i in one.images} >= {'CMYK', 'PNG', 'RGB'}
  sizes = [
      (tmp_path / 'one' / fake.FOLDERS / i.split_source / i.wnid / i.file_name)
      .stat().st_size
      for i in one.images
  ]
  assert np.mean(sizes) > REALISTIC_MIN_MEAN_BYTES
  assert two.images == one.images


def test_cli_writes_the_requested_layouts(tmp_path: pathlib.Path) -> None:
  assert fake.main(['--out', str(tmp_path), '--layouts', 'kaggle']) == 0
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      fake.KAGGLE, fake.MANIFEST_NAME
  ]
  assert fake.load_manifest(tmp_path).layouts == [fake.KAGGLE]


def test_cli_rejects_sizes_for_the_dummy_preset(tmp_path: pathlib.Path) -> None:
  with pytest.raises(SystemExit):
    fake.main(['--out', str(tmp_path), '--train-images', '10'])
