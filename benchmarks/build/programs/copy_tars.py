"""The I/O floor: reads files in 1 MiB chunks and writes them to one file.

Run as `python -m benchmarks.build.programs.copy_tars OUT IN [IN ...]`.
"""

from __future__ import annotations

from collections.abc import Sequence
import sys

CHUNK_BYTES = 1 << 20


def copy_files(out_path: str, in_paths: Sequence[str]) -> int:
  """Appends the bytes of `in_paths` to a new file `out_path`.

  Args:
    out_path: the file to write.
    in_paths: the files to read, unbuffered, in order.

  Returns:
    The bytes copied.
  """
  copied = 0
  with open(out_path, 'wb') as out:
    for path in in_paths:
      with open(path, 'rb', buffering=0) as source:
        while chunk := source.read(CHUNK_BYTES):
          out.write(chunk)
          copied += len(chunk)
  return copied


def main(argv: Sequence[str]) -> int:
  """Copies `argv[1:]` into `argv[0]`.

  Args:
    argv: the output file, then the input files.

  Returns:
    The exit status.
  """
  if len(argv) < 2:
    print('usage: copy_tars OUT IN [IN ...]', file=sys.stderr)
    return 2
  copy_files(argv[0], argv[1:])
  return 0


if __name__ == '__main__':
  sys.exit(main(sys.argv[1:]))
