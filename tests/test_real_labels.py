"""ReaL labels (`real_labels.py`): parsing `real.json`."""

from __future__ import annotations

import json

import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import real_labels

# --- ReaL ------------------------------------------------------------------


@pytest.mark.parametrize(
    'text, message',
    [
        ('{"a": 1}', 'expected a list of 50,000 lists .* found dict'),
        ('[[1]]', 'found 1 entries'),
        ('[[1], ', 'not JSON'),
        (json.dumps([[1]] * 49_999 + [[1000]]), r'entry 49999 \(ILSVRC2012_val_00050000\) is \[1000\]'),
        (json.dumps([[1]] * 3 + [['a']] + [[]] * 49_996), r'entry 3 \(ILSVRC2012_val_00000004\)'),
    ],
)
def test_bad_real_json(text, message):
  with pytest.raises(InputError, match=message):
    real_labels.parse_real_json(text, 'real.json')


def test_real_json_missing():
  with pytest.raises(InputError, match='real_labels: /no/real.json does not exist'):
    real_labels.load_real_labels('/no/real.json')
