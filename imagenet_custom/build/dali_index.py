"""DALI's index of a TFRecord file, as its `tfrecord2idx` tool writes it. Pure.

DALI's TFRecord reader (`fn.readers.tfrecord(path=..., index_path=...)`) needs
one index file per TFRecord file. `tfrecord2idx` (NVIDIA/DALI
`tools/tfrecord2idx`) walks the records from offset 0 and writes, per record,
one text line `<offset> <size>\\n`: the decimal byte offset where the record's
length field starts and the record's whole size in the file (8-byte length +
4-byte length CRC + data + 4-byte data CRC), separated by one space, no
header, no trailing blank line. A file with no records gets an empty index.

Unlike that tool, a truncated last record is an error here, not a line
pointing past the end of the file. CRCs are not checked (the tool does not
read them either). No TensorFlow: the build's workers may call it.
"""

from __future__ import annotations

from collections.abc import Iterator
import os
import struct

_LENGTH = struct.Struct('<Q')
# Length CRC before the data, data CRC after it.
_CRC_BYTES = 4
INDEX_SUFFIX = '.idx'


def record_spans(path: str) -> Iterator[tuple[int, int]]:
  """`(offset, size)` of every record of a TFRecord file, in file order.

  Raises:
    ValueError: the file ends inside a record (naming the file and offset).
  """
  file_size = os.path.getsize(path)
  with open(path, 'rb') as stream:
    offset = 0
    while offset < file_size:
      header = stream.read(_LENGTH.size)
      if len(header) != _LENGTH.size:
        raise ValueError(f'{path}: a record at byte {offset} is truncated: not a whole TFRecord file')
      size = _LENGTH.size + _CRC_BYTES + _LENGTH.unpack(header)[0] + _CRC_BYTES
      if offset + size > file_size:
        raise ValueError(
            f'{path}: the record at byte {offset} ends at {offset + size}, past the'
            f' end of the file ({file_size} bytes): not a whole TFRecord file'
        )
      offset += size
      stream.seek(offset)
      yield offset - size, size


def index_text(path: str) -> str:
  """The index `tfrecord2idx` writes for the TFRecord file at `path`."""
  return ''.join(f'{offset} {size}\n' for offset, size in record_spans(path))


def write_index(tfrecord_path: str, index_path: str | None = None) -> str:
  """Writes the DALI index of a TFRecord file.

  Args:
    tfrecord_path: the TFRecord file.
    index_path: where to write; default the file's path + `.idx`.

  Returns:
    The index's path.
  """
  index_path = index_path or tfrecord_path + INDEX_SUFFIX
  text = index_text(tfrecord_path)
  with open(index_path, 'w', newline='\n') as stream:
    stream.write(text)
  return index_path


def index_shards(folder: str) -> int:
  """Writes `<shard>.idx` beside every TFRecord shard TFDS wrote in `folder`.

  Shards are the files named `*.tfrecord-NNNNN-of-NNNNN`. Used by the build
  when its config asks (`dali_index`).

  Returns:
    How many indexes were written (0 for an ArrayRecord build, which DALI
    cannot read).
  """
  shards = sorted(
      name for name in os.listdir(folder)
      if '.tfrecord-' in name and not name.endswith(INDEX_SUFFIX)
  )
  for name in shards:
    write_index(os.path.join(folder, name))
  return len(shards)
