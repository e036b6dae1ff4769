"""The evaluation sets' facts: the shipped 200-class lists, split names, ObjectNet's mapping."""

from __future__ import annotations

import json
import re

import pytest

from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import eval_sets as facts
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc import objectnet


# timm/data/_info/imagenet_a_indices.txt and imagenet_r_indices.txt
# (huggingface/pytorch-image-models, Apache-2.0), written out here to check
# that the WNID lists taken from hendrycks' repositories give the same masks.
def _indices(text: str) -> tuple[int, ...]:
  return tuple(int(n) for n in re.findall(r'\d+', text))


TIMM_A = _indices("""
6 11 13 15 17 22 23 27 30 37 39 42 47 50 57 70 71 76 79 89 90 94 96 97 99 105 107 108 110 113 124
125 130 132 143 144 150 151 207 234 235 254 277 283 287 291 295 298 301 306 307 308 309 310 311
313 314 315 317 319 323 324 326 327 330 334 335 336 347 361 363 372 378 386 397 400 401 402 404
407 411 416 417 420 425 428 430 437 438 445 456 457 461 462 470 472 483 486 488 492 496 514 516
528 530 539 542 543 549 552 557 561 562 569 572 573 575 579 589 606 607 609 614 626 627 640 641
642 643 658 668 677 682 684 687 701 704 719 736 746 749 752 758 763 765 768 773 774 776 779 780
786 792 797 802 803 804 813 815 820 823 831 833 835 839 845 847 850 859 862 870 879 880 888 890
897 900 907 913 924 932 933 934 937 943 945 947 951 954 956 957 959 971 972 980 981 984 986 987
988""")
TIMM_R = _indices("""
1 2 4 6 8 9 11 13 22 23 26 29 31 39 47 63 71 76 79 84 90 94 96 97 99 100 105 107 113 122 125 130
132 144 145 147 148 150 151 155 160 161 162 163 171 172 178 187 195 199 203 207 208 219 231 232
234 235 242 245 247 250 251 254 259 260 263 265 267 269 276 277 281 288 289 291 292 293 296 299
301 308 309 310 311 314 315 319 323 327 330 334 335 337 338 340 341 344 347 353 355 361 362 365
366 367 368 372 388 390 393 397 401 407 413 414 425 428 430 435 437 441 447 448 457 462 463 469
470 471 472 476 483 487 515 546 555 558 570 579 583 587 593 594 596 609 613 617 621 629 637 657
658 701 717 724 763 768 774 776 779 780 787 805 812 815 820 824 833 847 852 866 875 883 889 895
907 928 931 932 933 934 936 937 943 945 947 948 949 951 953 954 957 963 965 967 980 981 983
988""")


@pytest.mark.parametrize(('split', 'timm'), [('imagenet_a', TIMM_A), ('imagenet_r', TIMM_R)])
def test_shipped_lists_give_timms_masks(split: str, timm: tuple[int, ...]):
  assert len(timm) == 200
  assert facts.class_mask(facts.class_wnids(split)) == timm


@pytest.mark.parametrize('split', ['imagenet_a', 'imagenet_o', 'imagenet_r'])
def test_shipped_lists_are_200_known_sorted_wnids(split: str):
  wnids = facts.class_wnids(split)
  assert len(set(wnids)) == 200
  assert list(wnids) == sorted(wnids)
  assert set(wnids) <= set(metadata.wnids())


def test_imagenet_o_is_not_imagenet_a():
  # Both have 200 classes, but not the same ones (hendrycks' two lists).
  a, o = set(facts.class_wnids('imagenet_a')), set(facts.class_wnids('imagenet_o'))
  assert a != o and len(a & o) < 200


def test_split_names_are_tfds_names_and_unique():
  assert len(set(facts.SPLITS)) == len(facts.EVAL_SETS)
  for split in facts.SPLITS:
    assert re.fullmatch(r'[a-z0-9_]+', split), split
  assert 'imagenet_v2_threshold0_7' in facts.SPLITS


def test_sets_of_all_classes_use_the_1000():
  assert facts.class_wnids('imagenet_sketch') == metadata.wnids()
  assert facts.class_wnids('imagenet_v2_top_images') == metadata.wnids()
  with pytest.raises(ValueError, match='mappings'):
    facts.class_wnids('objectnet')


def _mapping_texts(lines: list[str], index_to_line: dict[str, int]) -> dict[str, str]:
  return {
      objectnet.FOLDER_TO_LABEL: json.dumps({'alarm_clock': 'Alarm clock', 'bench': 'Bench'}),
      objectnet.LABEL_TO_IMAGENET: json.dumps({'Alarm clock': 'name 3; name 7'}),
      objectnet.IMAGENET_NAMES: '\n'.join(lines) + '\n',
      objectnet.INDEX_TO_LINE: json.dumps(index_to_line),
  }


def test_objectnet_lines_are_0_based():
  # Class index i's name is on line (999 - i), 0-based.
  lines = [f'name {999 - line}' for line in range(1000)]
  mapped = objectnet.parse_mappings(
      _mapping_texts(lines, {str(i): 999 - i for i in range(1000)}), 'mappings'
  )
  # 'Bench' maps to no ImageNet class: absent. Two names: both labels.
  assert mapped == {'alarm_clock': (3, 7)}


def test_objectnet_mapping_errors_name_the_file():
  lines = [f'name {line}' for line in range(1000)]
  with pytest.raises(InputError, match='pytorch_to_imagenet_2012_id.json.*outside'):
    objectnet.parse_mappings(_mapping_texts(lines, {str(i): i + 1 for i in range(1000)}), 'mappings')
  texts = _mapping_texts(lines, {str(i): i for i in range(1000)})
  texts[objectnet.LABEL_TO_IMAGENET] = json.dumps({'Alarm clock': 'no such name'})
  with pytest.raises(InputError, match="objectnet_to_imagenet_1k.json.*'no such name'"):
    objectnet.parse_mappings(texts, 'mappings')
  texts[objectnet.FOLDER_TO_LABEL] = '{not json'
  with pytest.raises(InputError, match='folder_to_objectnet_label.json: not valid JSON'):
    objectnet.parse_mappings(texts, 'mappings')
