"""Archive sizes and SHA-256 against checksums.tsv."""

from __future__ import annotations

import hashlib

from etils import epath
import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import checksums


def test_checksums_tsv_lists_the_official_archives():
  table = checksums.expected_archives()
  assert table['ILSVRC2012_img_train.tar'].size == 147_897_477_120
  assert table['ILSVRC2012_img_val.tar'].size == 6_744_924_160
  assert all(len(e.sha256) == 64 for e in table.values())


def test_background_hash_equals_hashlib_over_every_chunk_size(tmp_path):
  data = bytes(range(256)) * 4099  # Not a multiple of any chunk size below.
  (tmp_path / 'a.tar').write_bytes(data)
  (tmp_path / 'b.tar').write_bytes(b'')
  for chunk in (1, 1000, 1 << 20):
    hashes = checksums.BackgroundHash(
        {'a.tar': epath.Path(tmp_path / 'a.tar'), 'b.tar': epath.Path(tmp_path / 'b.tar')},
        chunk=chunk,
    )
    assert hashes.digests() == {
        'a.tar': hashlib.sha256(data).hexdigest(),
        'b.tar': hashlib.sha256(b'').hexdigest(),
    }


def test_background_hash_of_a_missing_file_names_it(tmp_path):
  hashes = checksums.BackgroundHash({'gone.tar': epath.Path(tmp_path / 'gone.tar')})
  with pytest.raises(InputError, match='Cannot read an archive to verify its checksum.*gone.tar'):
    hashes.digests()


def test_verify_names_the_archive_and_both_digests():
  expected = checksums.expected_archives()['ILSVRC2012_img_val.tar'].sha256
  checksums.verify({'ILSVRC2012_img_val.tar': expected})
  checksums.verify({'not_official.tar': '0' * 64})  # Unknown names are not checked.
  with pytest.raises(InputError) as error:
    checksums.verify({'ILSVRC2012_img_val.tar': 'f' * 64})
  message = str(error.value)
  assert 'ILSVRC2012_img_val.tar: SHA-256 ' + 'f' * 64 in message
  assert expected in message and 'download it again' in message


def test_size_mismatch_is_a_warning_naming_the_file(tmp_path):
  path = tmp_path / 'ILSVRC2012_img_val.tar'
  path.write_bytes(b'x' * 10)
  [warning] = checksums.check_sizes({'ILSVRC2012_img_val.tar': epath.Path(path)})
  assert f'{path} is 10 bytes' in warning and '6,744,924,160' in warning
