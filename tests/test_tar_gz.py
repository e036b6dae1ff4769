"""A .tar.gz indexed in one pass: members as tarfile lists them, read from access points."""

from __future__ import annotations

import concurrent.futures
import gzip
import io
import os
import pathlib
import random
import tarfile
import zlib

import pytest

from imagenet_custom.archives import gzip_index
from imagenet_custom.archives import tar_gz
from imagenet_custom.errors import InputError

LONG_NAME = 'train_blurred/n01530575/' + 'n01530575_' + '7' * 120 + '.jpg'


def _members(seed: int = 0) -> list[tuple[str, bytes | None]]:
  """(name, data or None for a folder), in an order that is not sorted.

  Folder `n01440764` comes back after another folder (two runs), a name is
  too long for a plain tar header, and data is incompressible.
  """
  rng = random.Random(seed)
  members: list[tuple[str, bytes | None]] = [('train_blurred/', None)]
  for wnid, count in (('n01530575', 5), ('n01440764', 4), ('n02012849', 6), ('n01440764', 3)):
    if not any(name == f'train_blurred/{wnid}/' for name, _ in members):
      members.append((f'train_blurred/{wnid}/', None))
    for number in rng.sample(range(1000, 9999), count):
      members.append((f'train_blurred/{wnid}/{wnid}_{number}.jpg', rng.randbytes(rng.randint(0, 40_000))))
  members.insert(3, (LONG_NAME, b'long'))
  members.append(('README', b'top-level file'))
  return members


def _write(path: pathlib.Path, members, tar_format: int = tarfile.GNU_FORMAT, level: int = 9) -> bytes:
  """Writes a .tar.gz (small deflate blocks) and returns the uncompressed tar."""
  plain = io.BytesIO()
  with tarfile.open(fileobj=plain, mode='w', format=tar_format) as tar:
    for name, data in members:
      info = tarfile.TarInfo(name)
      if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
      else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    link = tarfile.TarInfo('train_blurred/link.jpg')
    link.type, link.linkname = tarfile.SYMTYPE, 'n01440764'
    tar.addfile(link)
  compressor = zlib.compressobj(level, zlib.DEFLATED, 31, 1)
  path.write_bytes(compressor.compress(plain.getvalue()) + compressor.flush())
  return plain.getvalue()


@pytest.fixture(params=[tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=['gnu', 'pax'])
def archive(request, tmp_path) -> tuple[pathlib.Path, bytes]:
  path = tmp_path / 'train_blurred.tar.gz'
  return path, _write(path, _members(), request.param)


def _expected(plain: bytes) -> dict[str, tuple[int, bytes]]:
  with tarfile.open(fileobj=io.BytesIO(plain)) as tar:
    return {
        m.name: (m.offset_data, plain[m.offset_data : m.offset_data + m.size])
        for m in tar.getmembers() if m.isfile()
    }


def test_index_lists_what_tarfile_lists(archive):
  path, plain = archive
  index = tar_gz.build_index(path)
  expected = _expected(plain)
  found = {
      member.path: member
      for folder in index.folders for member in index.members(folder).values()
  }
  assert {p: m.offset for p, m in found.items()} == {p: o for p, (o, _) in expected.items()}
  assert LONG_NAME in found
  assert index.folders == (
      '', 'train_blurred', 'train_blurred/n01440764', 'train_blurred/n01530575',
      'train_blurred/n02012849',
  )
  assert index.subfolders('train_blurred') == ['n01440764', 'n01530575', 'n02012849']
  assert index.is_folder('train_blurred/n01440764') and not index.is_folder('README')
  assert index.size == len(plain)
  assert index.access_points >= 1


def test_members_read_from_access_points_match(archive):
  path, plain = archive
  index = tar_gz.build_index(path)
  expected = _expected(plain)
  everything = [m for folder in index.folders for m in index.members(folder).values()]
  assert {m.path: data for m, data in index.read(everything)} == {
      p: data for p, (_, data) in expected.items()
  }
  rng = random.Random(2)
  for _ in range(10):
    some = rng.sample(everything, 4)
    read = list(index.read(some))
    assert [m for m, _ in read] == sorted(some, key=lambda m: m.offset)
    assert all(data == expected[m.path][1] for m, data in read)


def test_members_read_across_many_access_points_and_threads(tmp_path, monkeypatch):
  monkeypatch.setattr(gzip_index, 'CHUNK_BYTES', 16 << 10)
  path = tmp_path / 'x.tar.gz'
  plain = _write(path, _members(), level=1)
  index = tar_gz.build_index(path)
  assert index.access_points >= len(plain) // 2 // (32 << 10)
  expected = {p: d for p, (_, d) in _expected(plain).items()}
  everything = [m for f in index.folders for m in index.members(f).values()]

  def read_all(_: int) -> dict[str, bytes]:
    return {m.path: d for m, d in index.read(everything)}

  # Threads reading at once each take a reader of their own from the pool.
  with concurrent.futures.ThreadPoolExecutor(3) as pool:
    assert all(found == expected for found in pool.map(read_all, range(6)))
  assert 1 <= len(index._idle_readers) <= 3
  # A read stopped early gives its reader back too.
  pooled = len(index._idle_readers)
  next(index.read(everything))
  assert len(index._idle_readers) == pooled


def test_index_file_round_trip(archive, tmp_path):
  path, _ = archive
  built = tar_gz.build_index(path)
  file = tmp_path / 'index' / tar_gz.index_file_name(path)
  tar_gz.save_index(built, file)
  loaded = tar_gz.load_index(file, path)
  assert loaded is not None
  assert (loaded.access_points, loaded.folders, loaded.size) == (
      built.access_points, built.folders, built.size
  )
  assert loaded.exported_gzip_index() == built.exported_gzip_index()
  for folder in built.folders:
    assert loaded.members(folder) == built.members(folder)
  everything = [m for f in loaded.folders for m in loaded.members(f).values()]
  assert dict(loaded.read(everything)) == dict(built.read(everything))
  assert list(file.parent.iterdir()) == [file]  # no partial file left


def test_index_file_is_ignored_when_the_archive_changes_or_it_is_damaged(archive, tmp_path):
  path, _ = archive
  file = tmp_path / 'a.index'
  tar_gz.save_index(tar_gz.build_index(path), file)
  assert tar_gz.load_index(file, path) is not None
  stat = path.stat()
  os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
  assert tar_gz.load_index(file, path) is None
  tar_gz.save_index(tar_gz.build_index(path), file)
  data = file.read_bytes()
  file.write_bytes(data[:-10])  # truncated
  assert tar_gz.load_index(file, path) is None
  file.write_bytes(b'something else')
  assert tar_gz.load_index(file, path) is None
  assert tar_gz.load_index(tmp_path / 'absent.index', path) is None


def test_index_of_passes_once_then_reads_the_file(archive, tmp_path, monkeypatch):
  path, _ = archive
  index_dir = tmp_path / 'cache'
  tar_gz.clear_registry()
  first = tar_gz.index_of(path, index_dir)
  assert tar_gz.index_of(path, index_dir) is first  # this process's copy
  tar_gz.clear_registry()  # as a new process starts

  def no_pass(_):
    raise AssertionError('indexed again')

  monkeypatch.setattr(tar_gz, 'build_index', no_pass)
  again = tar_gz.index_of(path, index_dir)
  assert again is not first
  assert again.exported_gzip_index() == first.exported_gzip_index()
  tar_gz.clear_registry()


def test_memory_only_index_writes_nothing(archive, tmp_path):
  path, _ = archive
  before = sorted(tmp_path.rglob('*'))
  tar_gz.clear_registry()
  tar_gz.index_of(path, None)
  tar_gz.clear_registry()
  assert sorted(tmp_path.rglob('*')) == before


@pytest.mark.parametrize('cut, message', [
    # rapidgzip's data just ends: the tar inside shows the cut, the gzip
    # trailer's size that it is the file's.
    (0.5, r'truncated: the file ends at byte [\d,]+ before the end of the gzip stream'
          r' \([\d,]+ bytes inflated\) \(after member train_blurred/'),
    (0.999, 'truncated'),
])
def test_truncated_archive_names_archive_and_member(archive, cut, message):
  path, _ = archive
  data = path.read_bytes()
  path.write_bytes(data[: int(len(data) * cut)])
  with pytest.raises(InputError, match=f'{path}: {message}.*download train_blurred.tar.gz again'):
    tar_gz.build_index(path)


def test_corrupt_archive_is_a_clear_error(archive):
  path, _ = archive
  data = bytearray(path.read_bytes())
  data[len(data) // 2] ^= 0x55
  path.write_bytes(bytes(data))
  # rapidgzip checks data a chunk at a time (and ahead of what it yields), so
  # the error may come before any member is parsed.
  with pytest.raises(InputError, match=r'corrupt gzip data after uncompressed byte [\d,]+ \(.*CRC32.*\).*download train_blurred.tar.gz again'):
    tar_gz.build_index(path)


def test_tar_without_end_marker_or_cut_inside_a_member(tmp_path):
  tar = io.BytesIO()
  with tarfile.open(fileobj=tar, mode='w', format=tarfile.GNU_FORMAT) as writer:
    info = tarfile.TarInfo('val_blurred/n01440764/ILSVRC2012_val_00000001.jpg')
    info.size = 5000
    writer.addfile(info, io.BytesIO(bytes(5000)))
  plain = tar.getvalue()
  for cut, message in ((512 + 5120, 'the tar has no end-of-archive marker'),
                       (512 + 1000, 'the tar ends inside member val_blurred/n01440764/ILSVRC2012_val_00000001.jpg')):
    path = tmp_path / 'val_blurred.tar.gz'
    path.write_bytes(gzip.compress(plain[:cut], mtime=0))
    with pytest.raises(InputError, match=message):
      tar_gz.build_index(path)


def test_corrupt_tar_header_is_a_clear_error(tmp_path):
  plain = bytearray(b'x' * 1024)
  path = tmp_path / 'bad.tar.gz'
  path.write_bytes(gzip.compress(bytes(plain), mtime=0))
  with pytest.raises(InputError, match='corrupt tar header at uncompressed byte 0'):
    tar_gz.build_index(path)


def test_not_gzip_is_a_clear_error(tmp_path):
  path = tmp_path / 'train_blurred.tar.gz'
  path.write_bytes(b'\x1f')
  with pytest.raises(InputError, match='not a gzip file'):
    tar_gz.build_index(path)
