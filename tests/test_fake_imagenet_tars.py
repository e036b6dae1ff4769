"""Tests of `imagenet_custom.testing.tars`: reproducible tar and gzip bytes."""

from __future__ import annotations

import pathlib
import tarfile
import time

from imagenet_custom.testing import tars


def _write(path: pathlib.Path, compress: bool) -> bytes:
  """A small archive with a directory and two files, as bytes."""
  with tars.DeterministicTar.create(path, compress=compress) as archive:
    archive.add_directory('data/')
    archive.add_bytes('data/a.txt', b'alpha\n')
    archive.add_bytes('data/b.txt', b'')
  return path.read_bytes()


def test_same_members_give_the_same_bytes(tmp_path: pathlib.Path) -> None:
  first = _write(tmp_path / 'one.tar.gz', compress=True)
  time.sleep(1.1)  # Another second: a timestamp would change the bytes.
  assert _write(tmp_path / 'two.tar.gz', compress=True) == first


def test_headers_are_fixed(tmp_path: pathlib.Path) -> None:
  data = _write(tmp_path / 'a.tar.gz', compress=True)
  # gzip header: magic, method, flags (no file name), then a zero mtime.
  assert data[:8] == b'\x1f\x8b\x08\x00\x00\x00\x00\x00'
  with tarfile.open(tmp_path / 'a.tar.gz') as archive:
    members = archive.getmembers()
  assert [m.name for m in members] == ['data', 'data/a.txt', 'data/b.txt']
  assert {(m.mtime, m.uname, m.uid) for m in members} == {
      (tars.TAR_MTIME, 'root', 0)
  }
  assert [oct(m.mode) for m in members] == ['0o755', '0o644', '0o644']
