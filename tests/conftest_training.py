"""Kept for tests/test_pipeline.py until it uses the `training_tfrecord_dir` fixture.

New tests take the session fixtures `training_tfrecord_dir` and
`training_array_record_dir` (conftest.py) and import constants from `builds`.
Both share one build per file format: `builds.build_training_data` writes to a
fixed folder of the session's temp dir, and TFDS reuses a finished build.
"""

from __future__ import annotations

import pathlib

import pytest

import builds
from builds import NUM_DUMMY_CLASSES  # noqa: F401  Re-exported.
from builds import REPO  # noqa: F401  Re-exported.
from builds import SPLIT_SIZES  # noqa: F401  Re-exported.


def build_once(
    tmp_path_factory: pytest.TempPathFactory, file_format: str
) -> pathlib.Path:
  """The session's build of the dummy data in `file_format`; see `builds.build_training_data`."""
  return builds.build_training_data(tmp_path_factory.getbasetemp(), file_format)
