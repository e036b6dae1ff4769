"""Tests for `imagenet_custom.layouts`: the layout registry and detection."""

from __future__ import annotations

import shutil

import pytest

from imagenet_custom import layouts
from imagenet_custom.layouts import official_archives

from builds import DUMMY


@pytest.mark.parametrize(
    'layout, reader_type',
    [
        ('archives', official_archives.ArchiveReader),
        ('kaggle', layouts.kaggle.KaggleReader),
        ('folders', layouts.folders.FolderReader),
    ],
)
def test_layouts_are_detected(layout, reader_type):
  reader = layouts.find_reader(DUMMY / layout)
  assert type(reader) is reader_type
  assert reader.layout == layout
  assert len(reader.train_classes().names) == 6


def test_several_layouts_need_a_choice(tmp_path):
  shutil.copytree(DUMMY / 'archives', tmp_path, dirs_exist_ok=True)
  shutil.copytree(DUMMY / 'kaggle', tmp_path, dirs_exist_ok=True)
  with pytest.raises(layouts.InputError, match='holds several layouts .archives, kaggle.'):
    layouts.find_reader(tmp_path)
  assert layouts.find_reader(tmp_path, layout='kaggle').layout == 'kaggle'


def test_incomplete_layout_says_what_is_missing(tmp_path):
  shutil.copy(DUMMY / 'archives' / official_archives.TRAIN_TAR, tmp_path)
  with pytest.raises(layouts.InputError, match="'archives' layout but has no val images"):
    layouts.find_reader(tmp_path)


def test_registry_builds_layouts_and_help():
  assert layouts.LAYOUTS == ('archives', 'kaggle', 'kaggle_zip', 'folders', 'blurred')
  assert tuple(r.layout for r in layouts.READERS) == layouts.LAYOUTS
  for number, reader_type in enumerate(layouts.READERS, start=1):
    assert f'\n{number}. {reader_type.help_text}\n' in layouts.LAYOUT_HELP


@pytest.mark.parametrize('layout', ['archives', 'kaggle', 'folders'])
def test_each_dummy_layout_is_detected_by_its_reader_only(layout):
  assert layouts.detect_layouts(DUMMY / layout) == [layout]
  assert [r.layout for r in layouts.READERS if r.detect(DUMMY / layout)] == [layout]


def test_a_layout_added_to_the_registry_is_found(tmp_path, monkeypatch):
  class MarkerReader(layouts.folders.FolderReader):
    layout = 'marker'
    help_text = 'marker (a folder holding MARKER)'

    @classmethod
    def detect(cls, root):
      return (root / 'MARKER').exists()

  shutil.copytree(DUMMY / 'folders', tmp_path, dirs_exist_ok=True)
  (tmp_path / 'MARKER').touch()
  monkeypatch.setattr(layouts, 'READERS', layouts.READERS + (MarkerReader,))
  with pytest.raises(layouts.InputError, match=r'several layouts \(folders, marker\)'):
    layouts.find_reader(tmp_path)
  assert type(layouts.find_reader(tmp_path, layout='marker')) is MarkerReader
  with pytest.raises(layouts.InputError, match='choose one of archives, kaggle, kaggle_zip, folders, blurred, marker'):
    layouts.find_reader(tmp_path, layout='other')


def _read_span(span, size: int) -> bytes:
  with open(span.path, 'rb') as f:
    f.seek(span.offset)
    return f.read(size)


@pytest.mark.parametrize('layout', ['archives', 'kaggle', 'folders'])
def test_every_image_span_points_at_its_bytes(layout):
  # A build reads images stored unchanged from their span (`spill.InPlace`).
  reader = layouts.find_reader(DUMMY / layout)
  sources = list(reader.read_val(reader.list_val().names))
  for wnid in reader.train_classes().names:
    sources += reader.read_train_class(wnid, reader.list_train_class(wnid).names)
  assert len(sources) > 50
  for source in sources:
    assert source.span is not None, source.origin
    data = source.read()
    assert _read_span(source.span, len(data)) == data, source.origin
