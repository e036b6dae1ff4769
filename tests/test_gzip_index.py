"""Random access into gzip files: every access point reproduces the data; clear errors."""

from __future__ import annotations

import ctypes.util
import gzip
import io
import random
import zlib

import pytest

from imagenet_custom.archives import gzip_index
from imagenet_custom.archives.gzip_index import AccessPoint
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


def _all_points(gz: bytes) -> tuple[bytes, list[tuple[AccessPoint, bytes]]]:
  """Inflates `gz` once, keeping an access point at every block boundary."""
  indexing = gzip_index.IndexingPass(io.BytesIO(gz), 'test.gz')
  out = bytearray()
  points: dict[int, tuple[AccessPoint, bytes]] = {}
  for chunk in indexing.chunks():
    out += chunk
    point, window = indexing.point_before(len(out))
    points[point.out_offset] = (point, window)
    indexing.release(len(out))
  return bytes(out), list(points.values())


@pytest.mark.parametrize('gz_of', [
    pytest.param(_gzip, id='one member'),
    pytest.param(lambda d: _gzip(d, 9, 1), id='small blocks'),
    # `cat a.gz b.gz c.gz`, then zero padding (as some tape tools leave).
    pytest.param(
        lambda d: _gzip(d[:100_000], 1) + gzip.compress(d[100_000:900_000], mtime=0)
        + _gzip(d[900_000:], 9, 1) + bytes(700),
        id='three members and padding',
    ),
])
def test_every_access_point_reads_the_data(gz_of):
  data = _data()
  gz = gz_of(data)
  out, points = _all_points(gz)
  assert out == data
  assert len(points) > 20
  assert {point.bits for point, _ in points} - {0}, 'no boundary inside a byte'
  rng = random.Random(1)
  with io.BytesIO(gz) as fileobj:
    for point, window in points:
      assert len(window) == min(point.out_offset, gzip_index.WINDOW_BYTES)
      with gzip_index.Inflating(fileobj, 'test.gz', point, window) as stream:
        gap = min(rng.randint(0, 70_000), len(data) - point.out_offset)
        stream.skip(gap)
        start = point.out_offset + gap
        size = min(rng.randint(0, 300_000), len(data) - start)
        assert stream.read(size) == data[start : start + size]
        assert stream.position == start + size


def test_reading_past_the_end_is_an_error():
  data = _data(parts=9)
  gz = gzip.compress(data[:50_000]) + gzip.compress(data[50_000:])
  _, points = _all_points(gz)
  point, window = points[0]
  assert point.out_offset < 50_000
  with gzip_index.Inflating(io.BytesIO(gz), 'test.gz', point, window) as stream:
    # Across the end of the first member.
    assert stream.read(len(data) - point.out_offset) == data[point.out_offset :]
    with pytest.raises(GzipError, match='the data ends at uncompressed byte'):
      stream.read(1)


def test_release_keeps_memory_bounded():
  gz = _gzip(_data(parts=60), 9, 1)
  indexing = gzip_index.IndexingPass(io.BytesIO(gz), 'test.gz')
  largest = 0
  total = 0
  for chunk in indexing.chunks():
    total += len(chunk)
    indexing.release(total)
    largest = max(largest, len(indexing._history), len(indexing._boundaries))
  assert largest <= gzip_index.WINDOW_BYTES + (1 << 18)
  with pytest.raises(ValueError, match='released past it'):
    indexing.point_before(0)


@pytest.mark.parametrize('damage, message', [
    (lambda gz: gz[:10], 'truncated: the file ends at byte 10 before the end of the gzip stream'),
    (lambda gz: gz[: len(gz) // 2], 'truncated: the file ends at byte'),
    (lambda gz: gz[:-4], 'truncated'),  # the trailer's size field is cut
    (lambda gz: gz[:1000] + bytes([gz[1000] ^ 0xFF]) + gz[1001:], 'corrupt deflate data near byte'),
    (lambda gz: gz + b'junk', 'unexpected data after the end of the gzip stream'),
    (lambda gz: b'PK' + gz[2:], 'not a gzip file'),
])
def test_damaged_files_are_clear_errors(damage, message):
  gz = gzip.compress(_data(parts=12), mtime=0)
  with pytest.raises(GzipError, match=message):
    for _ in gzip_index.IndexingPass(io.BytesIO(damage(gz)), 'test.gz').chunks():
      pass


def test_truncated_from_an_access_point_is_an_error():
  data = _data(parts=30)
  gz = _gzip(data)
  _, points = _all_points(gz)
  point, window = points[len(points) // 2]
  with gzip_index.Inflating(io.BytesIO(gz[: point.in_offset + 100]), 'test.gz', point, window) as stream:
    with pytest.raises(GzipError, match='truncated'):
      stream.read(len(data) - point.out_offset)


def test_without_libz_the_error_says_to_extract(monkeypatch):
  monkeypatch.setattr(gzip_index, '_LIBZ_NAMES', ('libz-not-here.so',))
  monkeypatch.setattr(ctypes.util, 'find_library', lambda name: None)
  gzip_index._libz.cache_clear()
  try:
    with pytest.raises(gzip_index.LibzUnavailableError, match='Extract the archive'):
      gzip_index.check_available()
  finally:
    gzip_index._libz.cache_clear()  # The next test loads the real one again.
