"""`drop_behind`: the files hold their bytes, and what is dropped from the cache is what is on disk."""

from __future__ import annotations

import itertools
import os
import pathlib
import sys

import pytest

from imagenet_custom.build import drop_behind


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
  """Records every write-back and drop (the real ones still run)."""
  seen: list[tuple] = []
  sync_range, drop = drop_behind.sync_range, drop_behind.drop

  def record_sync(fd: int, offset: int, size: int, flags: int) -> None:
    seen.append(('sync', fd, offset, size, flags))
    sync_range(fd, offset, size, flags)

  def record_drop(fd: int, offset: int, size: int) -> None:
    seen.append(('drop', fd, offset, size))
    drop(fd, offset, size)

  monkeypatch.setattr(drop_behind, 'sync_range', record_sync)
  monkeypatch.setattr(drop_behind, 'drop', record_drop)
  return seen


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='sync_file_range is Linux')
def test_the_c_librarys_sync_file_range_is_found_on_linux():
  # If this fails, the exports fall back to fdatasync (file) and plain writes (files).
  assert drop_behind._SYNC_FILE_RANGE is not None  # pylint: disable=protected-access


def test_a_file_is_written_whole_and_dropped_chunk_by_chunk(tmp_path: pathlib.Path, calls: list[tuple]):
  path = tmp_path / 'shard'
  pieces = [bytes([i]) * (300 + 7 * i) for i in range(40)]
  with drop_behind.DropBehindFile(str(path), chunk=1000) as out:
    sizes = [out.writev([piece[:5], piece[5:]]) for piece in pieces]
  assert path.read_bytes() == b''.join(pieces)
  assert sizes == [len(p) for p in pieces]
  total = sum(sizes)
  drops = [(offset, size) for kind, _, offset, size, *_ in calls if kind == 'drop']
  # Dropped front to back, each byte once, only after waiting for it; all
  # but the last chunk.
  assert drops[0][0] == 0
  assert all(a + s == b for (a, s), (b, _) in itertools.pairwise(drops))
  assert total - 2 * 1300 < drops[-1][0] + drops[-1][1] < total
  waited = [(offset, size) for kind, _, offset, size, flags in (c for c in calls if c[0] == 'sync')
            if flags & drop_behind.SYNC_FILE_RANGE_WAIT_AFTER]
  assert waited == drops
  started = [(o, s) for kind, _, o, s, flags in (c for c in calls if c[0] == 'sync') if flags == drop_behind.SYNC_FILE_RANGE_WRITE]
  assert sum(s for _, s in started) == total  # Every byte's write-back was started.


def test_a_short_write_is_completed(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
  writev = os.writev
  monkeypatch.setattr(os, 'writev', lambda fd, buffers: writev(fd, [b''.join(buffers)[:3]]))
  path = tmp_path / 'shard'
  with drop_behind.DropBehindFile(str(path)) as out:
    out.writev([b'abcdef', b'ghij'])
    out.writev([b'klm'])
  assert path.read_bytes() == b'abcdefghijklm'


def test_small_files_are_each_dropped_once_on_disk(tmp_path: pathlib.Path, calls: list[tuple]):
  images = {f'n0_{i}.JPEG': bytes([i]) * (100 + i) for i in range(30)}
  with drop_behind.DropBehindFiles(chunk=500, max_files=4) as files:
    for name, data in images.items():
      files.write_new(str(tmp_path / name), data)
      assert len(files._pending) <= 4  # pylint: disable=protected-access
  assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == images
  if drop_behind._SYNC_FILE_RANGE is not None:  # pylint: disable=protected-access
    drops = [size for kind, _, offset, size, *_ in calls if kind == 'drop']
    assert sorted(drops) == sorted(len(d) for d in images.values())


def test_an_existing_file_is_not_overwritten_and_nothing_is_left_open(tmp_path: pathlib.Path):
  (tmp_path / 'a.JPEG').write_bytes(b'first')
  before = len(os.listdir('/proc/self/fd')) if os.path.isdir('/proc/self/fd') else None
  with drop_behind.DropBehindFiles() as files:
    files.write_new(str(tmp_path / 'b.JPEG'), b'b')
    with pytest.raises(FileExistsError):
      files.write_new(str(tmp_path / 'a.JPEG'), b'second')
  assert (tmp_path / 'a.JPEG').read_bytes() == b'first'
  if before is not None:
    assert len(os.listdir('/proc/self/fd')) == before


def test_an_error_inside_closes_every_file_and_is_the_error_raised(tmp_path: pathlib.Path):
  before = len(os.listdir('/proc/self/fd')) if os.path.isdir('/proc/self/fd') else None
  with pytest.raises(ValueError, match='the block failed'):
    with drop_behind.DropBehindFile(str(tmp_path / 'shard')) as out:
      out.writev([b'abc'])
      raise ValueError('the block failed')
  with pytest.raises(ValueError, match='the block failed'):
    with drop_behind.DropBehindFiles() as files:
      files.write_new(str(tmp_path / 'a.JPEG'), b'a')
      raise ValueError('the block failed')
  assert (tmp_path / 'a.JPEG').read_bytes() == b'a'
  if before is not None:
    assert len(os.listdir('/proc/self/fd')) == before
