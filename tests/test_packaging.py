"""Tests of the packaging: ranges, lock files, the wheel, the README's commands.

What needs fresh venvs is checked by CI's smoke stages (scripts/smoke.sh): the
wheel installed outside the repository builds the dummy data with `tfds build
--imports imagenet_custom`, at the newest releases the ranges allow (beside an
installed `tensorflow`, with no second TensorFlow) and at their lower bounds.
Here: what can be checked in a second or two without installing anything.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import zipfile

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / 'scripts'))
import lower_bounds  # pylint: disable=g-import-not-at-top,wrong-import-position

REPO = pathlib.Path(__file__).resolve().parents[1]


def _requirements() -> list[Requirement]:
  return [Requirement(r) for r in lower_bounds.install_requires(REPO / 'setup.cfg')]


def _lock(name: str) -> dict[str, str]:
  """A lock file's pins by canonical name."""
  pins = {}
  for raw in (REPO / name).read_text().splitlines():
    line = raw.split('#', 1)[0].strip()
    if line:
      package, version = line.split('==')
      pins[canonicalize_name(package)] = version
  return pins


def test_tensorflow_is_required_by_its_own_name():
  names = {canonicalize_name(r.name) for r in _requirements()}
  assert 'tensorflow' in names
  assert not names & {'tensorflow-cpu', 'tensorflow-gpu', 'tf-nightly'}
  locked = _lock('requirements.lock')
  assert 'tensorflow' in locked and 'tensorflow-cpu' not in locked


@pytest.mark.parametrize('requirement', _requirements(), ids=str)
def test_every_requirement_has_a_lower_and_an_upper_bound(requirement):
  operators = {s.operator for s in requirement.specifier}
  assert '>=' in operators and '<' in operators, str(requirement)


def test_the_lock_lies_within_the_ranges():
  locked = _lock('requirements.lock')
  for requirement in _requirements():
    version = locked.get(canonicalize_name(requirement.name))
    assert version is not None, f'{requirement.name} is not in requirements.lock'
    assert requirement.specifier.contains(version), f'{requirement.name}=={version} not in {requirement}'


def test_the_default_setup_installs_no_pytorch():
  assert 'torch' not in _lock('requirements.lock')
  assert 'torch' in _lock('requirements-examples.lock')
  assert 'pytest' in _lock('requirements-test.lock')


def test_lower_bounds_pin_each_requirement():
  assert lower_bounds.lower_bound('etils[epath]>=1.7,<2') == 'etils==1.7'
  with pytest.raises(ValueError, match="'lxml<7' has no lower bound"):
    lower_bounds.lower_bound('lxml<7')


def test_wheel_holds_the_data_files_and_asks_for_tensorflow(tmp_path):
  subprocess.run(
      [sys.executable, '-m', 'pip', 'wheel', '--quiet', '--no-deps',
       '--no-build-isolation', '--wheel-dir', str(tmp_path), str(REPO)],
      check=True,
  )
  (wheel,) = tmp_path.glob('imagenet_custom-*.whl')
  with zipfile.ZipFile(wheel) as archive:
    names = set(archive.namelist())
    (metadata_name,) = [n for n in names if n.endswith('.dist-info/METADATA')]
    metadata = archive.read(metadata_name).decode()
  for data_file in (
      'ilsvrc/wnids.txt', 'ilsvrc/class_lists/imagenet100_cmc.txt', 'checksums.tsv',
      'CITATIONS.bib', 'imagenet_custom_dataset_builder.py',
  ):
    assert f'imagenet_custom/{data_file}' in names
  assert not any(n.startswith(('tests/', 'dummy_data/', 'scripts/')) for n in names)
  required = re.findall(r'^Requires-Dist: ([A-Za-z0-9_.-]+)', metadata, re.M)
  assert 'tensorflow' in required and 'tensorflow-cpu' not in required


def test_readme_starts_with_two_commands_that_paste_as_written():
  readme = (REPO / 'README.md').read_text()
  first_block = re.search(r'```bash\n(.*?)```', readme, re.S).group(1)
  commands = [line.split('#', 1)[0].strip() for line in first_block.splitlines()]
  commands = [c for c in commands if c]
  assert commands == ['bash scripts/build.sh', 'bash scripts/test.sh']


def test_find_python_fails_naming_the_versions():
  result = subprocess.run(
      ['bash', str(REPO / 'scripts' / 'find_python.sh'), '3.0', '2.1'],
      capture_output=True, text=True, check=False,
  )
  assert result.returncode == 1
  assert 'none of Python 3.0 2.1' in result.stderr


@pytest.mark.parametrize(
    'installed, problems',
    [
        # The user's GPU build alone: fine.
        ({'tensorflow': '2.21.0'}, []),
        # What `pip install tensorflow==2.21.0 .` gave when setup.cfg asked for tensorflow-cpu.
        ({'tensorflow': '2.21.0', 'tensorflow-cpu': '2.21.0'}, ['tensorflow-cpu==2.21.0 is installed beside tensorflow']),
        ({'tensorflow-cpu': '2.21.0'}, ['`tensorflow` is not installed', 'tensorflow-cpu==2.21.0 is installed']),
    ],
)
def test_smoke_check_finds_a_second_tensorflow(installed, problems, monkeypatch):
  import smoke_check  # pylint: disable=g-import-not-at-top

  monkeypatch.setattr(smoke_check, 'installed_version', installed.get)
  found = smoke_check.check_one_tensorflow()
  assert len(found) == len(problems)
  for message, expected in zip(found, problems, strict=False):
    assert expected in message
