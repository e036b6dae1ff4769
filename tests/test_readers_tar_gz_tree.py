"""Paths inside a .tar.gz: listed like folders, read in archive order."""

from __future__ import annotations

from collections.abc import Iterator
import io
import multiprocessing
import pathlib
import pickle
import tarfile

import pytest

from imagenet_custom.archives import tar_gz
from imagenet_custom.archives.tar_gz_tree import read_in_order
from imagenet_custom.archives.tar_gz_tree import TarGzTree
from imagenet_custom.errors import InputError

# Stored in this order (not sorted), as `tar -czf` of a folder may.
FILES = {
    'val_blurred/n02012849/ILSVRC2012_val_00000003.jpg': b'three',
    'val_blurred/n01440764/ILSVRC2012_val_00000002.jpg': b'two',
    'val_blurred/n01440764/ILSVRC2012_val_00000001.jpg': b'one',
    'val_blurred/.DS_Store': b'junk',
}


@pytest.fixture
def archive(tmp_path) -> Iterator[pathlib.Path]:
  plain = io.BytesIO()
  with tarfile.open(fileobj=plain, mode='w:gz') as tar:
    for folder in ('val_blurred', 'val_blurred/n02012849', 'val_blurred/n01440764', 'empty'):
      info = tarfile.TarInfo(folder)
      info.type = tarfile.DIRTYPE
      tar.addfile(info)
    for name, data in FILES.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  path = tmp_path / 'val_blurred.tar.gz'
  path.write_bytes(plain.getvalue())
  tar_gz.clear_registry()
  yield path
  tar_gz.clear_registry()


def test_paths_and_pickling(archive):
  tree = TarGzTree(archive, index_dir='/cache') / 'val_blurred' / 'n01440764'
  assert (str(tree), tree.name, tree.inner) == (
      f'{archive}:val_blurred/n01440764', 'n01440764', 'val_blurred/n01440764'
  )
  copy = pickle.loads(pickle.dumps(tree))
  assert copy == tree and copy.index_dir == '/cache' and hash(copy) == hash(tree)
  assert repr(TarGzTree(archive)) == f"TarGzTree('{archive}', '')"


def test_listed_like_a_folder(archive):
  top = TarGzTree(archive)
  assert [p.name for p in top.iterdir()] == ['empty', 'val_blurred']
  val = top / 'val_blurred'
  assert val.is_dir() and val.exists()
  assert [p.name for p in val.iterdir()] == ['.DS_Store', 'n01440764', 'n02012849']
  assert [p.name for p in (val / 'n01440764').iterdir()] == [
      'ILSVRC2012_val_00000001.jpg', 'ILSVRC2012_val_00000002.jpg'
  ]
  assert list((top / 'empty').iterdir()) == []
  image = val / 'n02012849' / 'ILSVRC2012_val_00000003.jpg'
  assert image.exists() and not image.is_dir() and image.size() == 5
  assert not (val / 'n09999999').exists()
  with pytest.raises(InputError, match='no such folder in the archive'):
    list((val / 'n09999999').iterdir())


def test_read_one_and_many_in_archive_order(archive):
  val = TarGzTree(archive) / 'val_blurred'
  assert (val / 'n01440764' / 'ILSVRC2012_val_00000001.jpg').read_bytes() == b'one'
  assert (val / '.DS_Store').read_text() == 'junk'
  wanted = [val / name.partition('/')[2] for name in sorted(FILES)]
  read = list(read_in_order(wanted))
  assert [(str(p.inner), data) for p, data in read] == list(FILES.items())
  assert list(read_in_order([])) == []
  with pytest.raises(InputError, match='no such file in the archive'):
    (val / 'missing.jpg').read_bytes()


def test_an_unpickled_tree_reads_in_another_process_through_the_index_file(archive, tmp_path):
  cache = tmp_path / 'cache'
  image = TarGzTree(archive, 'val_blurred/n02012849/ILSVRC2012_val_00000003.jpg', cache)
  assert image.read_bytes() == b'three'  # This process indexes and writes the file.
  (index_file,) = cache.iterdir()
  written = index_file.stat().st_mtime_ns
  # As a build worker: the tree is unpickled in a new process, which opens the
  # archive itself and reads the index file rather than index again.
  with multiprocessing.get_context('spawn').Pool(1) as pool:
    assert pool.apply(TarGzTree.read_bytes, (image,)) == b'three'
    assert pool.apply(TarGzTree.size, (image,)) == 5
  assert list(cache.iterdir()) == [index_file] and index_file.stat().st_mtime_ns == written
