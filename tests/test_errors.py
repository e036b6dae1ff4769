"""Tests for `imagenet_custom.errors`: what a bad-input error says and carries."""

from __future__ import annotations

import pickle

import pytest

from imagenet_custom.errors import BadFileError
from imagenet_custom.errors import InputError

ORIGIN = 'ILSVRC2012_img_train.tar:n01440764.tar:n01440764_10026.JPEG'


def test_bad_file_error_names_the_file_and_both_ways_out():
  error = BadFileError(ORIGIN, 'JPEG does not decode (image file is truncated)')
  assert str(error) == (
      f'{ORIGIN}: JPEG does not decode (image file is truncated). Replace the file'
      ' with a good copy from the original download, or build with config'
      ' `skip_bad_files=True` to skip it (it is then listed in the build report).'
  )
  assert (error.origin, error.problem) == (ORIGIN, 'JPEG does not decode (image file is truncated)')


def test_a_bad_file_is_an_input_error_and_a_value_error():
  # Callers that catch InputError (or ValueError) also catch bad files.
  with pytest.raises(InputError):
    raise BadFileError(ORIGIN, 'XML does not parse')
  assert issubclass(InputError, ValueError)


@pytest.mark.parametrize('error', [
    BadFileError(ORIGIN, 'XML declares a DTD'),  # Rebuilt from its two parts.
    InputError('No ImageNet layout found in /data (it holds: nothing).'),
])
def test_errors_survive_pickling_as_themselves(error):
  # Build worker processes send their errors to the parent pickled.
  copy = pickle.loads(pickle.dumps(error))
  assert type(copy) is type(error)
  assert str(copy) == str(error)
  assert vars(copy) == vars(error)
