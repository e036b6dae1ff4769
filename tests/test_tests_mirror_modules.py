"""Every module of the package has its own test file, as the README says.

`imagenet_custom/<module>.py` is tested in `tests/test_<module>.py` (a leading
underscore dropped), `imagenet_custom/readers/<module>.py` in
`tests/test_readers_<module>.py` and the registry in `readers/__init__.py` in
`tests/test_readers.py`.
"""

from __future__ import annotations

from builds import REPO

PACKAGE = REPO / 'imagenet_custom'
TESTS = REPO / 'tests'
# Modules whose tests live with the module built on them (listed in
# docs/architecture.md): the zip path object is tested through the reader.
TESTED_WITH = {
    'imagenet_custom/readers/zip_tree.py': 'test_readers_kaggle_zip.py',
}


def _expected_test_files() -> dict[str, str]:
  expected = {}
  for module in sorted(PACKAGE.glob('*.py')):
    if module.name != '__init__.py':
      expected[f'imagenet_custom/{module.name}'] = f'test_{module.stem.lstrip("_")}.py'
  for module in sorted((PACKAGE / 'readers').glob('*.py')):
    test = 'test_readers.py'
    if module.name != '__init__.py':
      test = f'test_readers_{module.stem.lstrip("_")}.py'
    expected[f'imagenet_custom/readers/{module.name}'] = test
  expected.update(TESTED_WITH)
  return expected


def test_every_module_has_its_test_file():
  expected = _expected_test_files()
  assert 'imagenet_custom/readers/devkit.py' in expected
  missing = {m: t for m, t in expected.items() if not (TESTS / t).exists()}
  assert not missing, f'modules without their test file: {missing}'

