"""Finding, listing and reading the evaluation sets in place (`layouts.eval_sets`)."""

from __future__ import annotations

import pathlib
import shutil
from typing import Any

from etils import epath
import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import eval_sets as facts
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.layouts import eval_sets as layout
from imagenet_custom.testing import eval_sets as fakes


@pytest.fixture(scope='module')
def downloads(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, fakes.Expected]:
  out = tmp_path_factory.mktemp('eval_downloads')
  return out, fakes.write_eval_sets(out)


def _sources(root: pathlib.Path) -> dict[str, layout.EvalSource]:
  found, _ = layout.find_eval_sets(epath.Path(root))
  return {source.split: source for source in found}


def test_every_set_is_found_as_distributed(downloads: tuple[pathlib.Path, Any]):
  root, _ = downloads
  kinds = {split: source.kind for split, source in _sources(root).items()}
  assert kinds == {
      'imagenet_v2_matched_frequency': 'tar.gz', 'imagenet_v2_threshold0_7': 'tar.gz',
      'imagenet_v2_top_images': 'tar.gz', 'imagenet_a': 'tar', 'imagenet_r': 'tar',
      'imagenet_sketch': 'zip', 'imagenet_o': 'tar', 'objectnet': 'folder',
  }


def test_labels_are_those_of_the_class_folders(downloads: tuple[pathlib.Path, Any]):
  root, expected = downloads
  wnids = metadata.wnids()
  for split, source in _sources(root).items():
    listed = layout.list_eval_set(source)
    images = {image.file_name: image.labels for image in listed.images}
    assert images == expected[split], split
    for name, labels in images.items():
      folder = name.split('/')[0]
      if split.startswith('imagenet_v2'):
        # By integer: folder `10` is class 10, though `tar` lists it third.
        assert labels == (int(folder),)
      elif split != facts.OBJECTNET:
        assert labels == (wnids.index(folder),)


def test_file_names_are_unique_where_the_set_repeats_them(downloads: tuple[pathlib.Path, Any]):
  root, _ = downloads
  names = [i.file_name for i in layout.list_eval_set(_sources(root)['imagenet_r']).images]
  assert len(set(names)) == len(names)
  assert sum(name.endswith('/art_0.jpg') for name in names) == 200


def test_readme_beside_the_classes_is_ignored_and_counted(downloads: tuple[pathlib.Path, Any]):
  root, _ = downloads
  listed = layout.list_eval_set(_sources(root)['imagenet_a'])
  assert listed.ignored == (f'{root / "imagenet-a.tar"}:imagenet-a/README.txt',)


def test_an_extracted_set_lists_and_reads_as_its_archive(
    downloads: tuple[pathlib.Path, Any], tmp_path: pathlib.Path
):
  root, _ = downloads
  fakes.extract(root / 'imagenet-a.tar', tmp_path)
  archive, folder = _sources(root)['imagenet_a'], _sources(tmp_path)['imagenet_a']
  assert folder.kind == 'folder'
  listed = layout.list_eval_set(archive)
  assert layout.list_eval_set(folder).images == listed.images
  names = [image.file_name for image in listed.images[:5]]
  from_archive = [s.read() for s in layout.read_eval_images(archive, names)]
  assert [s.read() for s in layout.read_eval_images(folder, names)] == from_archive
  # Stored unchanged in the tar: the span points at the bytes.
  first = next(layout.read_eval_images(archive, names[:1]))
  assert first.span is not None
  with open(first.span.path, 'rb') as f:
    f.seek(first.span.offset)
    assert f.read(len(from_archive[0])) == from_archive[0]


def _extracted_a(downloads: tuple[pathlib.Path, Any], into: pathlib.Path) -> pathlib.Path:
  fakes.extract(downloads[0] / 'imagenet-a.tar', into)
  return into / 'imagenet-a'


def test_a_class_outside_the_set_is_an_error(downloads, tmp_path: pathlib.Path):
  top = _extracted_a(downloads, tmp_path)
  outside = next(w for w in metadata.wnids() if w not in facts.class_wnids('imagenet_a'))
  (top / facts.class_wnids('imagenet_a')[0]).rename(top / outside)
  with pytest.raises(InputError, match=f'imagenet-a/{outside}: {outside} is not one of the 200'):
    layout.list_eval_set(_sources(tmp_path)['imagenet_a'])


def test_a_missing_class_is_an_error(downloads, tmp_path: pathlib.Path):
  top = _extracted_a(downloads, tmp_path)
  shutil.rmtree(top / facts.class_wnids('imagenet_a')[5])
  with pytest.raises(InputError, match='199 class folders in imagenet-a/, but ImageNet-A has 200'):
    layout.list_eval_set(_sources(tmp_path)['imagenet_a'])


def test_a_v2_folder_that_is_no_index_is_an_error(downloads, tmp_path: pathlib.Path):
  fakes.extract(downloads[0] / 'imagenetv2-top-images.tar.gz', tmp_path)
  top = tmp_path / 'imagenetv2-top-images-format-val'
  (top / '7').rename(top / '007')
  with pytest.raises(InputError, match="format-val/007: .* not '007'"):
    layout.list_eval_set(_sources(tmp_path)['imagenet_v2_top_images'])


def test_a_truncated_archive_is_an_error_naming_it(downloads, tmp_path: pathlib.Path):
  data = (downloads[0] / 'imagenet-o.tar').read_bytes()
  (tmp_path / 'imagenet-o.tar').write_bytes(data[: len(data) // 2])
  with pytest.raises(InputError, match='imagenet-o.tar: .*truncated'):
    layout.list_eval_set(_sources(tmp_path)['imagenet_o'])


def test_a_set_both_archived_and_extracted_is_an_error(downloads, tmp_path: pathlib.Path):
  _extracted_a(downloads, tmp_path)
  shutil.copy(downloads[0] / 'imagenet-a.tar', tmp_path)
  with pytest.raises(InputError, match='ImageNet-A twice: imagenet-a.tar and the folder imagenet-a/'):
    layout.find_eval_sets(epath.Path(tmp_path))


def test_objectnet_zip_is_noted_not_read(tmp_path: pathlib.Path):
  (tmp_path / 'objectnet-1.0.zip').write_bytes(b'PK')
  found, notes = layout.find_eval_sets(epath.Path(tmp_path))
  assert found == []
  assert len(notes) == 1 and 'password-protected' in notes[0]


def _extracted_v2(downloads, into: pathlib.Path) -> pathlib.Path:
  fakes.extract(downloads[0] / 'imagenetv2-top-images.tar.gz', into)
  return into / 'imagenetv2-top-images-format-val'


def test_v2s_first_release_with_wnid_folders_gives_the_same_labels(downloads, tmp_path: pathlib.Path):
  top = _extracted_v2(downloads, tmp_path)
  wnids = metadata.wnids()
  for index in range(1000):
    (top / str(index)).rename(top / wnids[index])
  images = layout.list_eval_set(_sources(tmp_path)['imagenet_v2_top_images']).images
  by_class = {image.file_name.split('/')[1]: image.labels for image in images}
  expected = downloads[1]['imagenet_v2_top_images']
  assert by_class == {name.split('/')[1]: labels for name, labels in expected.items()}


def test_v2_folders_naming_one_class_twice_are_an_error(downloads, tmp_path: pathlib.Path):
  top = _extracted_v2(downloads, tmp_path)
  # `3` renamed to the WNID of class 4, beside the folder `4`.
  (top / '3').rename(top / metadata.wnids()[4])
  with pytest.raises(InputError, match='two class folders of imagenetv2-top-images-format-val/ name the same class'):
    layout.list_eval_set(_sources(tmp_path)['imagenet_v2_top_images'])
