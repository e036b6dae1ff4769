"""Input layouts: one reader each, found automatically in the manual dir."""

from __future__ import annotations

from etils import epath

from imagenet_custom.errors import InputError
from imagenet_custom.readers import archives
from imagenet_custom.readers import box_archives
from imagenet_custom.readers import devkit
from imagenet_custom.readers import folders
from imagenet_custom.readers import kaggle
from imagenet_custom.readers.base import Reader

LAYOUTS = ('archives', 'kaggle', 'folders')

# What each layout needs, shown when none is found. Shared with the builder's
# manual download instructions.
LAYOUT_HELP = f"""\
imagenet_custom reads one of these layouts from the manual dir, in place:

1. archives (from image-net.org, ILSVRC2012), not extracted:
     {archives.TRAIN_TAR}            (required, 147,897,477,120 bytes)
     {archives.VAL_TAR}              (required, 6,744,924,160 bytes)
     {devkit.DEVKIT_2012}         (val labels, blacklist, class names)
     {box_archives.BBOX_TRAIN}      (optional: train boxes)
     {box_archives.BBOX_VAL}           (optional: val boxes)
2. kaggle (kaggle competitions download imagenet-object-localization-challenge,
   unzipped):
     {kaggle.DATA_DIR}/train/<wnid>/*.JPEG and {kaggle.DATA_DIR}/val/*.JPEG
     {kaggle.ANNOTATIONS_DIR}/{{train/<wnid>,val}}/*.xml (boxes)
     {devkit.LOC_VAL_SOLUTION}, {devkit.LOC_SYNSET_MAPPING}
     {kaggle.DEVKIT_DIR}/{{{devkit.MAP_CLSLOC},{devkit.GROUND_TRUTH_2015},
       {devkit.BLACKLIST_2015}}} (ILSVRC2015 devkit, for the blacklist)
3. folders (an extracted tree, e.g. torchvision's):
     train/<wnid>/*.JPEG and val/*.JPEG or val/<wnid>/*.JPEG, with
     {devkit.DEVKIT_2012} or {devkit.LOC_VAL_SOLUTION} beside them for val
     labels and the blacklist, and the box archives if you have them.
Class folders and inner tars must be named by WNID (n01440764), not by class
name: two pairs of ImageNet classes share a name (crane, maillot)."""


def _detect(root: epath.Path) -> list[str]:
  found = []
  if (root / archives.TRAIN_TAR).exists() or (root / archives.VAL_TAR).exists():
    found.append('archives')
  if (root / kaggle.DATA_DIR).exists():
    found.append('kaggle')
  if (root / 'train').is_dir() or (root / 'val').is_dir():
    found.append('folders')
  return found


def _check_complete(reader: Reader) -> None:
  """Val images are required; without train images the build is evaluation-only."""
  roles = reader.sources()
  missing = [r for r in ('val images',) if r not in roles]
  if 'train images' not in roles and missing:
    missing.insert(0, 'train images')
  if missing:
    raise InputError(
        f'{reader.root} looks like the {reader.layout!r} layout but has no'
        f' {" and no ".join(missing)}.\n\n{LAYOUT_HELP}'
    )


def find_reader(
    manual_dir: epath.PathLike, layout: str = 'auto', verify_checksums: bool = False
) -> Reader:
  """Finds the input layout in `manual_dir` and returns its reader.

  Args:
    manual_dir: the folder holding the user's ImageNet download.
    layout: `auto`, or one of `LAYOUTS` to choose when several are present.
    verify_checksums: whether official archives are hashed while read.

  Returns:
    The reader for the layout found.

  Raises:
    InputError: no layout, an incomplete one, or several with `auto`.
  """
  root = epath.Path(manual_dir)
  if not root.exists():
    raise InputError(
        f'The manual dir {root} does not exist. Create it and put your'
        f' ImageNet download there, then pass it with --manual_dir.'
        f'\n\n{LAYOUT_HELP}'
    )
  found = _detect(root)
  if layout != 'auto':
    if layout not in LAYOUTS:
      raise InputError(
          f'Unknown layout {layout!r}: choose one of {", ".join(LAYOUTS)}.'
      )
    found = [layout]
  if not found:
    entries = sorted(p.name for p in root.iterdir())[:10]
    raise InputError(
        f'No ImageNet layout found in {root} (it holds: '
        f'{", ".join(entries) or "nothing"}).\n\n{LAYOUT_HELP}'
    )
  if len(found) > 1:
    raise InputError(
        f'{root} holds several layouts ({", ".join(found)}). Choose one with'
        ' the builder config, e.g. --config=\'{"name": "from_kaggle", "layout":'
        f' "{found[0]}"}}\', or move the others out.'
    )
  if found[0] == 'archives':
    reader: Reader = archives.ArchiveReader(root, verify_checksums)
  elif found[0] == 'kaggle':
    reader = kaggle.KaggleReader(root)
  else:
    reader = folders.FolderReader(root)
  _check_complete(reader)
  return reader
