"""Tests for imagenet_custom.archives.tario: in-place tar reading and hashing."""

from __future__ import annotations

import io
import tarfile

import pytest

from imagenet_custom import layouts
from imagenet_custom.archives import tario
from imagenet_custom.errors import InputError

from builds import build
from builds import DUMMY


def _tar(members: dict[str, bytes]) -> bytes:
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode='w', format=tarfile.USTAR_FORMAT) as tar:
    for name, data in members.items():
      info = tarfile.TarInfo(name)
      info.size = len(data)
      tar.addfile(info, io.BytesIO(data))
  return buffer.getvalue()


class CountingFile(io.BytesIO):
  """Counts the bytes read, as /proc/<pid>/io would."""

  bytes_read = 0

  def read(self, size=-1):
    data = super().read(size)
    self.bytes_read += len(data)
    return data


def test_members_are_listed_with_headers_only():
  members = {f'n01440764_{i}.JPEG': bytes([i]) * 100_000 for i in range(5)}
  archive = CountingFile(_tar(members))
  listed = list(tario.iter_members(archive, 'a.tar'))
  assert [m.name for m in listed] == list(members)
  # Five 512-byte headers and the end marker, not the 500 KB of data.
  assert archive.bytes_read < 10_000
  third = listed[2]
  assert tario.read_member(archive, third.offset_data, third.size, 'a.tar:x') == members['n01440764_2.JPEG']


def test_nested_tar_through_a_window():
  inner = _tar({'n01440764_1.JPEG': b'a' * 1000, 'n01440764_2.JPEG': b'b' * 10})
  outer = io.BytesIO(_tar({'n01443537.tar': b'x' * 700, 'n01440764.tar': inner}))
  listed = {m.name: m for m in tario.iter_members(outer, 'train.tar')}
  member = listed['n01440764.tar']
  window = tario.Window(outer, member.offset_data, member.size)
  inner_members = list(tario.iter_members(window, 'train.tar:n01440764.tar'))
  assert [m.name for m in inner_members] == ['n01440764_1.JPEG', 'n01440764_2.JPEG']
  second = inner_members[1]
  assert tario.read_member(window, second.offset_data, second.size, 'x') == b'b' * 10


@pytest.mark.parametrize('cut', [700, 1100, 2048 + 512])
def test_truncated_tar_raises_naming_the_archive(cut):
  data = _tar({'a.JPEG': b'a' * 1000, 'b.JPEG': b'b' * 1000, 'c.JPEG': b'c' * 10})
  with pytest.raises(InputError, match='ILSVRC2012_img_val.tar: .*truncated') as error:
    list(tario.iter_members(io.BytesIO(data[:cut]), 'ILSVRC2012_img_val.tar'))
  assert 'Download ILSVRC2012_img_val.tar again' in str(error.value)


def test_corrupt_header_mid_archive_raises():
  data = bytearray(_tar({'a.JPEG': b'a' * 1000, 'b.JPEG': b'b' * 1000}))
  data[1536:1536 + 100] = b'\x7f' * 100  # The second header.
  with pytest.raises(InputError, match='train.tar:n01.tar: .*corrupt'):
    list(tario.iter_members(io.BytesIO(bytes(data)), 'train.tar:n01.tar'))


def test_garbage_is_not_a_tar():
  with pytest.raises(InputError, match='x.tar: corrupt tar archive'):
    list(tario.iter_members(io.BytesIO(b'garbage' * 200), 'x.tar'))



def test_compressed_truncated_archive_raises(tmp_path):
  path = tmp_path / 'boxes.tar.gz'
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode='w:gz') as tar:
    for i in range(50):
      info = tarfile.TarInfo(f'n01/n01_{i}.xml')
      payload = bytes(range(256)) * 40
      info.size = len(payload)
      tar.addfile(info, io.BytesIO(payload))
  path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
  from etils import epath

  with pytest.raises(InputError, match='boxes.tar.gz: corrupt or truncated compressed archive'):
    list(tario.iter_compressed_members(epath.Path(path)))


def test_read_member_without_pread_seeks(tmp_path, monkeypatch):
  # Windows has no os.pread: local files are then read by seeking.
  members = {'n01440764_1.JPEG': b'a' * 3000, 'n01440764_2.JPEG': b'b' * 700}
  path = tmp_path / 'n01440764.tar'
  path.write_bytes(_tar(members))
  monkeypatch.delattr(tario.os, 'pread')
  with tario.open_raw(path) as archive:
    assert not tario.supports_pread(archive)
    listed = list(tario.iter_members(archive, 'n01440764.tar'))
    read = {m.name: tario.read_member(archive, m.offset_data, m.size, m.name) for m in listed}
  assert read == members


def _archive_images() -> dict[str, bytes]:
  """Every train and val image of the dummy archives, read through the reader."""
  reader = layouts.find_reader(DUMMY / 'archives')
  images = {}
  for wnid in reader.train_classes().names:
    names = reader.list_train_class(wnid).names
    images.update((s.origin, s.read()) for s in reader.read_train_class(wnid, set(names)))
  images.update((s.origin, s.read()) for s in reader.read_val(set(reader.list_val().names)))
  return images


def test_archive_reader_without_pread_reads_the_same_images(monkeypatch):
  with_pread = _archive_images()
  monkeypatch.delattr(tario.os, 'pread')
  without_pread = _archive_images()
  assert len(with_pread) == 41 + 24  # The dummy data's train and val images.
  assert without_pread == with_pread
  assert all('\\' not in origin for origin in without_pread)  # Member names use '/'.


def test_build_without_pread(tmp_path, monkeypatch):
  monkeypatch.delattr(tario.os, 'pread')
  builder = build(DUMMY / 'archives', tmp_path)
  assert {name: split.num_examples for name, split in builder.info.splits.items()} == {
      'train': 32, 'validation': 9, 'test': 21, 'test_blacklisted': 3,
  }


def _mixed_tar(tar_format: int, long_name: str) -> bytes:
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode='w', format=tar_format) as tar:
    for name, data in [('n01440764/', None), ('n01440764/a.JPEG', b'a' * 700),
                       ('empty.JPEG', b''), (long_name, b'l' * 1025),
                       ('link.JPEG', 'a.JPEG'), ('z.JPEG', b'z' * 512)]:
      info = tarfile.TarInfo(name.rstrip('/'))
      if data is None:
        info.type = tarfile.DIRTYPE
      elif isinstance(data, str):
        info.type, info.linkname = tarfile.SYMTYPE, data
      else:
        info.size = len(data)
      tar.addfile(info, io.BytesIO(data) if isinstance(data, bytes) else None)
  return buffer.getvalue()


@pytest.mark.parametrize('tar_format', [
    tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT,
])
@pytest.mark.parametrize('long_name', [
    'short.JPEG',
    'd' * 90 + '/' + 'n' * 60 + '.JPEG',  # ustar keeps it in the prefix field.
    'n' * 150 + '.JPEG',  # Needs a GNU long-name or pax header.
])
def test_listing_equals_tarfile_for_every_header_kind(tar_format, long_name):
  if tar_format == tarfile.USTAR_FORMAT and '/' not in long_name and len(long_name) > 100:
    pytest.skip('ustar cannot store that name')
  data = _mixed_tar(tar_format, long_name)
  with tarfile.open(fileobj=io.BytesIO(data)) as tar:
    expected = [(m.name, m.offset_data, m.size) for m in tar.getmembers() if m.isfile()]
  listed = [tuple(m) for m in tario.iter_members(io.BytesIO(data), 'x.tar')]
  assert listed == expected
  assert long_name in [name for name, _, _ in listed]


def test_a_bad_header_checksum_is_corrupt():
  data = bytearray(_tar({'a.JPEG': b'a' * 10, 'b.JPEG': b'b' * 10}))
  data[1024 + 5] ^= 0x01  # One bit of the second header's name.
  with pytest.raises(InputError, match='x.tar: corrupt tar archive .*checksum at byte 1024'):
    list(tario.iter_members(io.BytesIO(bytes(data)), 'x.tar'))


@pytest.mark.parametrize('tar_format', [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
@pytest.mark.parametrize('long_name', ['short.xml', 'n' * 150 + '.xml'])
def test_compressed_listing_equals_tarfile(tmp_path, tar_format, long_name):
  # A long name late in the archive makes the fast reader hand over to
  # tarfile after it yielded some members: none is yielded twice.
  path = tmp_path / 'boxes.tar.gz'
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode='w:gz', format=tar_format) as tar:
    for name in ['n01/', 'n01/a.xml', 'n01/b.xml', long_name, 'n01/c.xml']:
      info = tarfile.TarInfo(name.rstrip('/'))
      if name.endswith('/'):
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
      else:
        payload = name.encode() * 7
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
  path.write_bytes(buffer.getvalue())
  from etils import epath

  listed = [(m.name, data) for m, data in tario.iter_compressed_members(epath.Path(path))]
  assert listed == [(n, n.encode() * 7) for n in ['n01/a.xml', 'n01/b.xml', long_name, 'n01/c.xml']]


def _tar_with(members, tar_format=tarfile.USTAR_FORMAT) -> bytes:
  """A tar of (TarInfo, data or None) pairs."""
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode='w', format=tar_format) as tar:
    for info, data in members:
      info.size = len(data) if data is not None else 0
      tar.addfile(info, io.BytesIO(data) if data is not None else None)
  return buffer.getvalue()


def _info(name: str, kind: bytes = tarfile.REGTYPE) -> tarfile.TarInfo:
  info = tarfile.TarInfo(name)
  info.type = kind
  return info


def _listed(path, head_bytes=8):
  with tario.open_raw(path) as archive:
    return tario.list_files(archive, path.name, head_bytes)


def _expected_files(data: bytes, head_bytes: int = 8) -> list[tario.TarFile]:
  return [
      tario.TarFile(m.name, m.offset_data, m.size, data[m.offset_data : m.offset_data + min(m.size, head_bytes)])
      for m in tario.iter_members(io.BytesIO(data), 'x')
  ]


@pytest.mark.parametrize('members, tar_format, fast', [
    # Plain headers: the fast path (one pread each).
    ([(_info('n01/a.JPEG'), b'\xff\xd8\xff' + b'a' * 700), (_info('n01/', tarfile.DIRTYPE), None),
      (_info('n01/empty.JPEG'), b''), (_info('n01/b.JPEG'), b'bb')], tarfile.USTAR_FORMAT, True),
    ([(_info('c.JPEG'), b'c' * 600)], tarfile.GNU_FORMAT, True),
    ([(_info('p' * 90 + '/' + 'q' * 30 + '.JPEG'), b'prefix')], tarfile.USTAR_FORMAT, True),
    ([(_info('e.JPEG'), b'e'), (_info('link.JPEG', tarfile.SYMTYPE), None)], tarfile.USTAR_FORMAT, True),
    # A long name (GNU `L` entry), a pax path: tarfile's path, same result.
    ([(_info('n01/' + 'x' * 150 + '.JPEG'), b'long'), (_info('d.JPEG'), b'd')], tarfile.GNU_FORMAT, False),
    ([(_info('n01/' + 'y' * 150 + '.JPEG'), b'pax')], tarfile.PAX_FORMAT, False),
])
def test_list_files_gives_what_iter_members_gives(members, tar_format, fast, tmp_path, monkeypatch):
  data = _tar_with(members, tar_format)
  path = tmp_path / 'x.tar'
  path.write_bytes(data)
  through_tarfile = []
  original = tario._tarfile_members

  def recorded(*args):
    through_tarfile.append(True)
    return original(*args)

  monkeypatch.setattr(tario, '_tarfile_members', recorded)
  assert _listed(path) == _expected_files(data)
  assert (not through_tarfile) is fast


def test_list_files_in_a_window_and_without_pread(tmp_path, monkeypatch):
  inner = _tar({'n01440764_1.JPEG': b'\xff\xd8\xff1', 'n01440764_2.JPEG': b'\x89PNG\r\n\x1a\n2'})
  path = tmp_path / 'train.tar'
  path.write_bytes(_tar({'n01443537.tar': b'x' * 700, 'n01440764.tar': inner}))
  expected = [
      tario.TarFile('n01440764_1.JPEG', 512, 4, b'\xff\xd8\xff1'),
      tario.TarFile('n01440764_2.JPEG', 1536, 9, b'\x89PNG\r\n\x1a\n'),
  ]
  for pread in (True, False):
    if not pread:
      monkeypatch.delattr(tario.os, 'pread')
    with tario.open_raw(path) as archive:
      outer = {f.name: f for f in tario.list_files(archive, 'train.tar')}
      assert outer['n01443537.tar'].head == b''
      member = outer['n01440764.tar']
      window = tario.Window(archive, member.offset, member.size)
      assert tario.list_files(window, 'train.tar:n01440764.tar', 8) == expected


@pytest.mark.parametrize('cut', [700, 1100, 2048 + 512])
def test_list_files_of_a_truncated_tar_raises_as_iter_members(cut, tmp_path):
  data = _tar({'a.JPEG': b'a' * 1000, 'b.JPEG': b'b' * 1000, 'c.JPEG': b'c' * 10})
  path = tmp_path / 'ILSVRC2012_img_val.tar'
  path.write_bytes(data[:cut])
  with pytest.raises(InputError, match='ILSVRC2012_img_val.tar: .*truncated'):
    _listed(path)


def test_list_files_of_a_corrupt_header_raises_as_iter_members(tmp_path):
  data = bytearray(_tar({'a.JPEG': b'a' * 1000, 'b.JPEG': b'b' * 1000}))
  data[1536 + 10] ^= 0x01  # A bit of the second header's name: its checksum fails.
  path = tmp_path / 'n01.tar'
  path.write_bytes(bytes(data))
  with pytest.raises(InputError, match='n01.tar: .*corrupt'):
    _listed(path)
