"""Random access into gzip files through rapidgzip's index: any stretch reads back; clear errors."""

from __future__ import annotations

import gzip
import os
import pathlib
import random
import zlib

import pytest

from imagenet_custom.archives import gzip_index
from imagenet_custom.archives.gzip_index import GzipError


def _data(seed: int = 0, parts: int = 120) -> bytes:
  """Incompressible, repetitive and zero runs: stored, fixed and dynamic blocks."""
  rng = random.Random(seed)
  chunks = []
  for number in range(parts):
    size = rng.randint(1, 60_000)
    kind = number % 3
    if kind == 0:
      chunks.append(rng.randbytes(size))
    elif kind == 1:
      chunks.append((b'class %d image ' % number) * (size // 16))
    else:
      chunks.append(bytes(size))
  return b''.join(chunks)


def _gzip(data: bytes, level: int = 6, mem_level: int = 8) -> bytes:
  compressor = zlib.compressobj(level, zlib.DEFLATED, 31, mem_level)
  return compressor.compress(data) + compressor.flush()


def _index(path: pathlib.Path) -> tuple[bytes, bytes, int]:
  """One pass over `path`: the data, the exported index, its access points."""
  indexing = gzip_index.IndexingPass(path, path.name)
  try:
    out = b''.join(indexing.chunks())
    assert indexing.size == len(out)
    exported, points = indexing.export()
  finally:
    indexing.close()
  return out, exported, points


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
  # Access points every 16 KiB of compressed data, so that the small files
  # here have many.
  monkeypatch.setattr(gzip_index, 'CHUNK_BYTES', 16 << 10)


@pytest.mark.parametrize('gz_of', [
    pytest.param(_gzip, id='one member'),
    pytest.param(lambda d: _gzip(d, 9, 1), id='small blocks'),
    # `cat a.gz b.gz c.gz`: one stream of data, as for `gzip -d`.
    pytest.param(
        lambda d: _gzip(d[:100_000], 1) + gzip.compress(d[100_000:900_000], mtime=0)
        + _gzip(d[900_000:], 9, 1),
        id='three members',
    ),
])
def test_any_stretch_reads_back_through_the_exported_index(gz_of, tmp_path):
  data = _data()
  path = tmp_path / 'test.gz'
  path.write_bytes(gz_of(data))
  out, exported, points = _index(path)
  assert out == data
  assert points > 20
  rng = random.Random(1)
  reader = gzip_index.Reader(path, 'test.gz', exported)
  try:
    for _ in range(60):
      start = rng.randrange(len(data))
      size = min(rng.randint(0, 300_000), len(data) - start)
      assert reader.read_at(start, size) == data[start : start + size]
    # Backwards too: each read seeks.
    assert reader.read_at(len(data) - 10, 10) == data[-10:]
    assert reader.read_at(0, 10) == data[:10]
  finally:
    reader.close()


def test_reading_past_the_end_is_an_error(tmp_path):
  data = _data(parts=9)
  path = tmp_path / 'test.gz'
  path.write_bytes(gzip.compress(data))
  _, exported, _ = _index(path)
  reader = gzip_index.Reader(path, 'test.gz', exported)
  try:
    with pytest.raises(GzipError, match=f'the data ends at uncompressed byte {len(data):,}'):
      reader.read_at(len(data) - 5, 6)
  finally:
    reader.close()


@pytest.mark.parametrize('damage, message', [
    # Deflate data changed in its middle: a wrong CRC-32, or invalid codes.
    (lambda gz: gz[:1000] + bytes([gz[1000] ^ 0xFF]) + gz[1001:], 'corrupt gzip data after uncompressed byte'),
    (lambda gz: gz[:-8] + bytes([gz[-8] ^ 0x01]) + gz[-7:], 'Mismatching CRC32'),
    (lambda gz: b'PK' + gz[2:], r'not a gzip file \(it does not start with 1f 8b\)'),
    (lambda gz: b'', 'not a gzip file'),
    # Zeros after the last member read as a damaged gzip header.
    (lambda gz: gz + bytes(700), 'corrupt gzip data after uncompressed byte .*header'),
])
def test_damaged_files_are_clear_errors(damage, message, tmp_path):
  path = tmp_path / 'test.gz'
  path.write_bytes(damage(gzip.compress(_data(parts=12), mtime=0)))
  with pytest.raises(GzipError, match=message):
    _index(path)


def test_a_file_cut_short_just_ends(tmp_path):
  # rapidgzip yields what it could inflate: `tar_gz` finds the cut by the tar.
  data = _data(parts=30)
  gz = _gzip(data)
  path = tmp_path / 'test.gz'
  path.write_bytes(gz[: len(gz) // 2])
  out, _, _ = _index(path)
  assert 0 < len(out) < len(data) and data.startswith(out)


def test_bytes_after_the_last_member_leave_the_data_before_them_whole(tmp_path):
  data = _data(parts=12)
  path = tmp_path / 'test.gz'
  path.write_bytes(gzip.compress(data, mtime=0) + b'junk')
  out = _index(path)[0]
  assert out.startswith(data) and len(out) <= len(data) + len(b'junk')


def test_an_index_of_another_file_is_an_error(tmp_path):
  first, second = tmp_path / 'first.gz', tmp_path / 'second.gz'
  first.write_bytes(_gzip(_data(seed=1)))
  second.write_bytes(_gzip(_data(seed=2)))
  _, exported, _ = _index(first)
  with pytest.raises(GzipError, match='the index does not fit the file'):
    gzip_index.Reader(second, 'second.gz', b'not an index')
  # Found when it is imported, or at the latest when it is read through.
  with pytest.raises(GzipError, match='the index does not fit the file|corrupt gzip data at'):
    reader = gzip_index.Reader(second, 'second.gz', exported)
    try:
      reader.read_at(500_000, 1000)
    finally:
      reader.close()


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs fork')
def test_a_forked_child_opens_its_own_file(tmp_path):
  data = _data(parts=30)
  path = tmp_path / 'test.gz'
  path.write_bytes(_gzip(data))
  _, exported, _ = _index(path)
  reader = gzip_index.Reader(path, 'test.gz', exported)
  assert reader.read_at(1000, 10) == data[1000:1010]
  pid = os.fork()
  if pid == 0:  # The child: the parent's file is forgotten, a new one reads.
    status = 1
    try:
      child = gzip_index.Reader(path, 'test.gz', exported)
      status = 0 if child.read_at(200_000, 100) == data[200_000:200_100] else 2
      child.close()
    finally:
      os._exit(status)
  _, status = os.waitpid(pid, 0)
  assert os.waitstatus_to_exitcode(status) == 0
  assert reader.read_at(300_000, 10) == data[300_000:300_010]  # The parent's still reads.
  reader.close()
