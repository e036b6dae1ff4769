"""Train subsets and class lists (`selection.py`): the pure rules."""

from __future__ import annotations

import pathlib

import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import selection
from imagenet_custom.ilsvrc import splits

# Dummy train classes and their image counts; validation takes 2, 2, 2, 2, 0, 1.
CLASS_SIZES = {
    'n01440764': 10, 'n01530575': 9, 'n02012849': 10, 'n03126707': 8,
    'n03710637': 1, 'n03710721': 3,
}


# --- selection rules -------------------------------------------------------


def test_fraction_keeps_validation_and_nests_subsets():
  names = [f'n01440764_{i}.JPEG' for i in range(1300)]
  everything = selection.split_class(
      'n01440764', names, 0.2, 'seed', selection.Selection(), 'origin'
  )
  tenth = selection.split_class(
      'n01440764', names, 0.2, 'seed', selection.Selection(train_fraction=0.1), 'o'
  )
  hundredth = selection.split_class(
      'n01440764', names, 0.2, 'seed', selection.Selection(train_fraction=0.01), 'o'
  )
  assert len(everything.validation) == 260 and len(everything.train) == 1040
  assert tenth.validation == hundredth.validation == everything.validation
  assert (len(tenth.train), len(hundredth.train)) == (130, 13)
  assert hundredth.train < tenth.train < everything.train
  assert len(tenth.left_out) == 1300 - 260 - 130


def test_train_subset_is_the_head_of_the_split_order_after_validation():
  names = [f'n01440764_{i}.JPEG' for i in range(100)]
  ranked = splits.rank(names, 'seed')
  divided = selection.split_class(
      'n01440764', names, 0.2, 'seed', selection.Selection(train_fraction=0.05), 'o'
  )
  # One order (`splits.rank`): validation takes its first 20, the subset the next 5.
  assert divided.validation == frozenset(ranked[:20])
  assert divided.train == frozenset(ranked[20:25])


@pytest.mark.parametrize(
    'num_images, fraction, available, expected',
    [
        (1300, 0.01, 1040, 13),  # round(13.0)
        (732, 0.01, 586, 7),     # round(7.32)
        (1250, 0.01, 1000, 13),  # 12.5: halves up
        (3, 0.01, 2, 1),         # at least one
        (10, 1.0, 8, 8),         # at most what validation left
    ],
)
def test_subset_count(num_images, fraction, available, expected):
  assert selection.subset_count(num_images, fraction, available) == expected


def test_file_list_takes_listed_images_out_of_validation():
  names = [f'n01440764_{i}.JPEG' for i in range(10)]
  full_split = selection.split_class('n01440764', names, 0.2, 's', selection.Selection(), 'o')
  # One listed image the full build holds out for validation, one it trains on.
  listed = frozenset({min(full_split.validation), min(full_split.train)})
  chosen = selection.split_class(
      'n01440764', names, 0.2, 's',
      selection.Selection(train_list={'n01440764': listed}, train_list_origin='l.txt'), 'o',
  )
  assert chosen.train == listed
  assert chosen.validation == full_split.validation - listed
  assert len(chosen.validation) == len(full_split.validation) - 1 == 1
  assert chosen.left_out == frozenset(names) - listed - chosen.validation


def test_listed_image_missing_from_its_class_is_named():
  with pytest.raises(InputError, match=r'l.txt: 1 listed images are missing from origin: n01440764_77.JPEG'):
    selection.split_class(
        'n01440764', ['n01440764_1.JPEG'], 0.2, 's',
        selection.Selection(
            train_list={'n01440764': frozenset({'n01440764_77.JPEG'})},
            train_list_origin='l.txt',
        ),
        'origin',
    )


@pytest.mark.parametrize(
    'text, message',
    [
        ('n01440764\ncrane\n', r"c.txt, line 2: 'crane' is not one of the 1,000"),
        ('n01440764\nn01440764\n', 'line 2: n01440764 is listed twice .first on line 1.'),
        ('# nothing\n\n', 'c.txt: no WNIDs'),
        ('n99999999\n', "'n99999999' is not one of the 1,000"),
    ],
)
def test_bad_class_lists(text, message):
  with pytest.raises(InputError, match=message):
    selection.parse_class_list(text, 'c.txt')


def test_class_list_is_sorted_and_allows_comments():
  assert selection.parse_class_list('n03126707  # crane\nn01440764\n', 'c') == (
      'n01440764', 'n03126707'
  )


@pytest.mark.parametrize(
    'text, message',
    [
        ('n01440764_1.JPEG\nn01440764/n01440764_2.JPEG\n', 'l.txt, line 2: .* is not a train image name'),
        ('n01440764_1.jpg\n', 'line 1: .* is not a train image name'),
        ('n99999999_1.JPEG\n', "'n99999999' is not one of the 1,000"),
        ('\n', 'names no image'),
    ],
)
def test_bad_train_lists(text, message):
  with pytest.raises(InputError, match=message):
    selection.parse_train_list(text, 'l.txt')


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(classes=None, relabel=False, train_subset=0.0), r'not a fraction in \(0, 1\]'),
        (dict(classes=None, relabel=False, train_subset=1.5), 'not a fraction'),
        (dict(classes=None, relabel=False, train_subset='/no/list.txt'), 'train_subset: /no/list.txt does not exist'),
        (dict(classes='/no/c.txt', relabel=False, train_subset=None), 'classes: /no/c.txt does not exist'),
        (dict(classes=None, relabel=True, train_subset=None), 'relabel needs a `classes` file'),
    ],
)
def test_bad_selection_config(kwargs, message):
  with pytest.raises(InputError, match=message):
    selection.make_selection(**kwargs)


def test_shipped_imagenet100_list():
  path = pathlib.Path(selection.__file__).parent / 'class_lists' / 'imagenet100_cmc.txt'
  wnids = selection.parse_class_list(path.read_text(), str(path))
  assert len(wnids) == 100
  # The source file's first and last lines (github.com/HobbitLong/CMC imagenet100.txt).
  lines = [line for line in path.read_text().splitlines() if not line.startswith('#')]
  assert (lines[0], lines[-1]) == ('n02869837', 'n02090622')
  by_name = selection.make_selection('imagenet100_cmc', True, None)
  assert by_name.classes == wnids and by_name.label_names() == wnids
  with pytest.raises(InputError, match=r'or the name of a shipped list \(imagenet100_cmc\)'):
    selection.make_selection('imagenet100', False, None)
