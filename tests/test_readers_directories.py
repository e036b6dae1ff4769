"""Tests for `imagenet_custom.layouts.directories`: folder trees read in place."""

from __future__ import annotations

from etils import epath
import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.layouts import directories
from imagenet_custom.layouts.base import Listing


def _tree(root: epath.Path, files: dict[str, bytes]) -> epath.Path:
  for name, data in files.items():
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
  return root


def test_list_directory_sorts_files_and_separates_junk(tmp_path):
  root = _tree(epath.Path(tmp_path), {
      'b.JPEG': b'b', 'a.JPEG': b'a', '.DS_Store': b'', '._a.JPEG': b'', 'sub/c.JPEG': b'c',
  })
  # Sub-folders are neither images nor junk.
  assert directories.list_directory(root) == Listing(('a.JPEG', 'b.JPEG'), ('.DS_Store', '._a.JPEG'))


def test_class_folders_are_wnids_and_other_entries_are_junk(tmp_path):
  root = _tree(epath.Path(tmp_path), {
      'n01530575/x.JPEG': b'', 'n01440764/y.JPEG': b'', 'Thumbs.db': b'', 'notes.txt': b'',
  })
  assert directories.class_folders(root, 'train') == Listing(
      ('n01440764', 'n01530575'), ('Thumbs.db', 'notes.txt')
  )


def test_a_class_folder_named_by_class_name_is_refused(tmp_path):
  root = _tree(epath.Path(tmp_path), {'n01440764/y.JPEG': b'', 'tench/z.JPEG': b''})
  with pytest.raises(InputError, match="train/tench: 'tench' is not one of the 1,000"):
    directories.class_folders(root, 'train')


def test_read_folder_reads_the_named_files_in_sorted_order_when_asked(tmp_path):
  root = _tree(epath.Path(tmp_path), {'b.JPEG': b'bee', 'a.JPEG': b'ay', 'c.JPEG': b'sea'})
  sources = list(directories.read_folder(root, {'c.JPEG', 'a.JPEG'}))
  assert [(s.name, s.origin) for s in sources] == [
      ('a.JPEG', str(root / 'a.JPEG')), ('c.JPEG', str(root / 'c.JPEG'))
  ]
  (root / 'c.JPEG').write_bytes(b'changed')  # Read when asked, not when listed.
  assert [s.read() for s in sources] == [b'ay', b'changed']
