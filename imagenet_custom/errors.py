"""Errors raised for bad input: each says what is wrong, where, and what to do."""

from __future__ import annotations


class InputError(ValueError):
  """The user's ImageNet input is missing, malformed or inconsistent.

  The message always names the file (and archive member when there is one)
  and says what the user can do about it.
  """


class BadFileError(InputError):
  """One image or annotation cannot be read.

  Unlike other `InputError`s, these can be skipped (counted and listed in the
  build report) when the builder config sets `skip_bad_files=True`.
  """

  def __init__(self, origin: str, problem: str):
    self.origin = origin
    self.problem = problem
    super().__init__(
        f'{origin}: {problem}. Replace the file with a good copy from the'
        ' original download, or build with config `skip_bad_files=True` to'
        ' skip it (it is then listed in the build report).'
    )

  def __reduce__(self):
    # Sent back from build worker processes: rebuilt from its two parts.
    return (type(self), (self.origin, self.problem))
