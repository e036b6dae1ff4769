"""scripts/lower_bounds.py's check that CI's newest stage reaches the top of every range."""

from __future__ import annotations

import pathlib
import sys

from packaging.utils import canonicalize_name
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / 'scripts'))
import lower_bounds  # pylint: disable=g-import-not-at-top,wrong-import-position

REPO = pathlib.Path(__file__).resolve().parents[1]
OURS = ['pillow>=10.1,<14', 'numpy>=1.26,<2.5', 'tensorflow>=2.20,<3', 'absl-py>=1.4']


@pytest.mark.parametrize('installed, expected', [
    # Beam asks for less than our top: that top is never installed.
    ([('apache-beam', '2.77.0', ['pillow<13,>=12.1.1', 'numpy<2.5.0,>=1.14.3'])],
     ['pillow<14,>=10.1: apache-beam 2.77.0 requires pillow<13,>=12.1.1, so the top of the'
      ' range is never installed (never tested); make the bound <13.']),
    # A cap at or above ours, a lower bound only, another package: fine.
    ([('scipy', '1.18.1', ['numpy<2.8,>=2.0.0']), ('keras', '3.15.1', ['numpy', 'absl-py<9'])], []),
    # Only under an extra, or a marker that is false here: not installed.
    ([('tf-keras', '2.21.0', ['tensorflow<2.22; extra == "gpu"', 'pillow<11; python_version < "3"'])], []),
    # A pin caps too; our own package is left out.
    ([('tf-keras', '2.21.0', ['tensorflow==2.21.0']), ('imagenet_custom', '1.0.0', ['pillow<9'])],
     ['tensorflow<3,>=2.20: tf-keras 2.21.0 requires tensorflow==2.21.0, so the top of the'
      ' range is never installed (never tested); make the bound ==2.21.0.']),
])
def test_capped_names_each_bound_another_distribution_caps_lower(installed, expected):
  assert lower_bounds.capped(OURS, installed) == expected


def test_setup_cfg_has_no_bound_capped_by_the_locked_releases():
  # requirements.lock is the newest stage's resolution as of its writing: the
  # ones of its distributions installed in this venv must not cap our ranges.
  locked = {
      canonicalize_name(line.split('==')[0])
      for line in (REPO / 'requirements.lock').read_text().splitlines()
      if line and not line.startswith('#')
  }
  installed = [
      entry for entry in lower_bounds._installed() if canonicalize_name(entry[0]) in locked
  ]
  assert len(installed) > 50
  assert lower_bounds.capped(lower_bounds.install_requires(REPO / 'setup.cfg'), installed) == []
