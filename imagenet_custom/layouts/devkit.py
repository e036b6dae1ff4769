"""Loading val labels, blacklists and class names from devkit files."""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses

from absl import logging
from etils import epath

from imagenet_custom.archives import tario
from imagenet_custom.errors import InputError
from imagenet_custom.ilsvrc import metadata
from imagenet_custom.ilsvrc.val_labels import LabelKind
from imagenet_custom.ilsvrc.val_labels import LabelSource
from imagenet_custom.ilsvrc.val_labels import ValMetadata

DEVKIT_2012 = 'ILSVRC2012_devkit_t12.tar.gz'
_META_MAT = 'data/meta.mat'
_GROUND_TRUTH_2012 = 'data/ILSVRC2012_validation_ground_truth.txt'
_BLACKLIST_2012 = 'data/ILSVRC2012_validation_blacklist.txt'

# The ILSVRC2015 devkit as Kaggle ships it, relative to `ILSVRC/devkit/data`.
MAP_CLSLOC = 'map_clsloc.txt'
GROUND_TRUTH_2015 = 'ILSVRC2015_clsloc_validation_ground_truth.txt'
BLACKLIST_2015 = 'ILSVRC2015_clsloc_validation_blacklist.txt'
LOC_SYNSET_MAPPING = 'LOC_synset_mapping.txt'
LOC_VAL_SOLUTION = 'LOC_val_solution.csv'


@dataclasses.dataclass(frozen=True)
class DevkitFacts:
  """What a layout's devkit and name files say about the classes.

  Attributes:
    ilsvrc_ids: devkit class ID (1..1000) by WNID; empty without a devkit.
    names: class name by WNID; empty without a name source.
    sources: the files read.
  """

  ilsvrc_ids: dict[str, int]
  names: dict[str, str]
  sources: tuple[str, ...]


NO_FACTS = DevkitFacts({}, {}, ())


def _synsets_2012(path: epath.Path) -> dict[int, metadata.Synset]:
  for member, data in tario.iter_compressed_members(path):
    if member.name.endswith(_META_MAT):
      return metadata.parse_meta_mat(data, f'{path}:{member.name}')
  raise InputError(
      f'{path}: the devkit archive lacks {_META_MAT}. Download'
      f' {DEVKIT_2012} again.'
  )


def read_devkit_facts(
    id_tables: Sequence[epath.Path], synset_mapping: epath.Path | None
) -> DevkitFacts:
  """Reads class IDs and names from a layout's files.

  Args:
    id_tables: where the class ID table may be, first found wins: the 2012
      devkit archive (its `meta.mat`) or a `map_clsloc.txt` (2015 devkit).
    synset_mapping: `LOC_synset_mapping.txt`, whose names (Kaggle's first
      names) win over the devkit's when it exists.

  Returns:
    The facts; empty tables for what is absent.
  """
  synsets: dict[int, metadata.Synset] = {}
  sources = []
  for table in id_tables:
    if not table.exists():
      continue
    if table.name == DEVKIT_2012:
      synsets = _synsets_2012(table)
    else:
      synsets = metadata.parse_map_clsloc(table.read_text(), str(table))
    sources.append(str(table))
    break
  ids = {synset.wnid: synset.ilsvrc_id for synset in synsets.values()}
  names = {synset.wnid: synset.name for synset in synsets.values()}
  if synset_mapping is not None and synset_mapping.exists():
    names = load_synset_mapping(synset_mapping)
    sources.append(str(synset_mapping))
  return DevkitFacts(ids, names, tuple(sources))


def load_devkit_2012(
    path: epath.Path,
) -> tuple[LabelSource, frozenset[int], dict[str, str]]:
  """Reads the ILSVRC2012 devkit archive in place.

  Args:
    path: `ILSVRC2012_devkit_t12.tar.gz`.

  Returns:
    The val labels (ILSVRC IDs mapped through `meta.mat`), the blacklist and
    the class names by WNID.
  """
  wanted = (_META_MAT, _GROUND_TRUTH_2012, _BLACKLIST_2012)
  found: dict[str, tuple[str, bytes]] = {}
  for member, data in tario.iter_compressed_members(path):
    for suffix in wanted:
      if member.name.endswith(suffix):
        found[suffix] = (f'{path}:{member.name}', data)
  missing = [suffix for suffix in wanted if suffix not in found]
  if missing:
    raise InputError(
        f'{path}: the devkit archive lacks {", ".join(missing)}. Download'
        f' {DEVKIT_2012} (the ILSVRC2012 development kit, task 1 & 2) again.'
    )
  mat_origin, mat_data = found[_META_MAT]
  synsets = metadata.parse_meta_mat(mat_data, mat_origin)
  truth_origin, truth_data = found[_GROUND_TRUTH_2012]
  labels = metadata.parse_ground_truth(
      truth_data.decode('ascii'), truth_origin, synsets
  )
  blacklist_origin, blacklist_data = found[_BLACKLIST_2012]
  blacklist = metadata.parse_blacklist(
      blacklist_data.decode('ascii'), blacklist_origin
  )
  names = {synset.wnid: synset.name for synset in synsets.values()}
  return LabelSource(truth_origin, labels, LabelKind.DEVKIT), blacklist, names


def load_devkit_2015(
    data_dir: epath.Path,
) -> tuple[LabelSource, frozenset[int], dict[str, str]]:
  """Reads the ILSVRC2015 devkit's `data/` folder (Kaggle layout).

  Args:
    data_dir: `ILSVRC/devkit/data`.

  Returns:
    The val labels (ILSVRC IDs mapped through `map_clsloc.txt`), the
    blacklist and the class names by WNID.
  """
  map_path = data_dir / MAP_CLSLOC
  truth_path = data_dir / GROUND_TRUTH_2015
  blacklist_path = data_dir / BLACKLIST_2015
  missing = [p.name for p in (map_path, truth_path, blacklist_path) if not p.exists()]
  if missing:
    raise InputError(
        f'{data_dir}: the ILSVRC2015 devkit lacks {", ".join(missing)}. Put'
        ' the complete devkit `data/` folder there, or remove the folder and'
        f' provide {LOC_VAL_SOLUTION} instead.'
    )
  synsets = metadata.parse_map_clsloc(map_path.read_text(), str(map_path))
  labels = metadata.parse_ground_truth(
      truth_path.read_text(), str(truth_path), synsets
  )
  blacklist = metadata.parse_blacklist(
      blacklist_path.read_text(), str(blacklist_path)
  )
  names = {synset.wnid: synset.name for synset in synsets.values()}
  return LabelSource(str(truth_path), labels, LabelKind.DEVKIT), blacklist, names


def load_loc_val_solution(path: epath.Path) -> LabelSource:
  """Reads val labels from Kaggle's `LOC_val_solution.csv`.

  Args:
    path: the CSV file.

  Returns:
    The val labels it gives.
  """
  objects = metadata.parse_loc_solution(path.read_text(), str(path))
  return LabelSource(
      str(path), metadata.val_labels_from_solution(objects, str(path)),
      LabelKind.SOLUTION_CSV,
  )


def load_synset_mapping(path: epath.Path) -> dict[str, str]:
  """Reads class names from Kaggle's `LOC_synset_mapping.txt`."""
  return metadata.parse_synset_mapping(path.read_text(), str(path))


def load_kaggle_csvs(
    root: epath.Path,
) -> tuple[list[LabelSource], dict[str, str] | None]:
  """Val labels and class names from Kaggle's files in `root`, if present.

  Args:
    root: the folder that may hold `LOC_val_solution.csv` and
      `LOC_synset_mapping.txt`.

  Returns:
    The label sources found (none or one) and the class names (or None).
  """
  solution = root / LOC_VAL_SOLUTION
  mapping = root / LOC_SYNSET_MAPPING
  sources = [load_loc_val_solution(solution)] if solution.exists() else []
  names = load_synset_mapping(mapping) if mapping.exists() else None
  return sources, names


def val_metadata_with_csvs(
    root: epath.Path,
    devkit_found: tuple[LabelSource, frozenset[int], dict[str, str]] | None,
    missing_devkit: str,
    own_sources: Sequence[LabelSource] = (),
) -> ValMetadata:
  """Val metadata from a layout's devkit and Kaggle's CSV files beside it.

  Shared by the layouts that accept Kaggle's CSVs (kaggle, folders). Without
  a devkit there is no blacklist, which is logged as a warning.

  Args:
    root: the folder that may hold `LOC_val_solution.csv` and
      `LOC_synset_mapping.txt`.
    devkit_found: what the layout's devkit gave (labels, blacklist, class
      names), or None when it has none.
    missing_devkit: the devkit the layout looked for and where, for the
      warning, e.g. `ILSVRC2012_devkit_t12.tar.gz in /data/imagenet`.
    own_sources: label sources of the layout itself (e.g. val class folders).

  Returns:
    The label sources (the layout's own, the devkit's, the CSV's, in this
    order), the blacklist (None without a devkit), and the class names
    (`LOC_synset_mapping.txt`'s over the devkit's).
  """
  sources = list(own_sources)
  blacklist = names = None
  if devkit_found is not None:
    labels, blacklist, names = devkit_found
    sources.append(labels)
  csv_sources, csv_names = load_kaggle_csvs(root)
  sources.extend(csv_sources)
  names = csv_names or names
  if blacklist is None:
    logging.warning(
        'No %s: no blacklist applies, all val images go to the test split.',
        missing_devkit,
    )
  return ValMetadata(tuple(sources), blacklist, names)
