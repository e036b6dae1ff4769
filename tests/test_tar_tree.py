"""`archives.tar_tree`: an uncompressed tar as a read-only tree of paths."""

from __future__ import annotations

import io
import pathlib
import pickle
import tarfile

import pytest

from imagenet_custom.archives.tar_tree import TarTree
from imagenet_custom.errors import InputError


def _tar(path: pathlib.Path, files: dict[str, bytes]) -> pathlib.Path:
  with tarfile.open(path, 'w', format=tarfile.GNU_FORMAT) as tar:
    for name, data in files.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  return path


def test_folders_files_and_spans(tmp_path: pathlib.Path):
  path = _tar(tmp_path / 'set.tar', {
      './top/b/2.jpg': b'two', 'top/a/1.jpg': b'one', 'top/README.txt': b'readme',
  })
  top = TarTree(path) / 'top'
  assert top.is_dir() and top.exists()
  assert [child.name for child in top.iterdir()] == ['README.txt', 'a', 'b']
  one = top / 'a' / '1.jpg'
  assert not one.is_dir() and one.read_bytes() == b'one' and one.size() == 3
  assert str(one) == f'{path}:top/a/1.jpg'
  span = one.span()
  assert span is not None
  assert path.read_bytes()[span.offset : span.offset + 3] == b'one'
  assert pickle.loads(pickle.dumps(one)).read_bytes() == b'one'


def test_missing_paths_and_a_truncated_tar_are_errors(tmp_path: pathlib.Path):
  path = _tar(tmp_path / 'set.tar', {'top/a.jpg': b'x' * 2000})
  assert not (TarTree(path) / 'nothing').exists()
  with pytest.raises(InputError, match='no such file'):
    (TarTree(path) / 'nothing').read_bytes()
  with pytest.raises(InputError, match='no such folder'):
    list((TarTree(path) / 'top' / 'a.jpg').iterdir())
  cut = tmp_path / 'cut.tar'
  cut.write_bytes(path.read_bytes()[:1200])
  with pytest.raises(InputError, match='cut.tar: truncated'):
    (TarTree(cut) / 'top').is_dir()
