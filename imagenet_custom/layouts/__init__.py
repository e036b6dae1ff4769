"""Input layouts: one reader each, found automatically in the manual dir.

One `Reader` per layout a user holds (official archives, extracted folders,
the Kaggle tree and its zip, the face-blurred archives). May import `ilsvrc`,
`archives` and `imagenet_custom.errors`; never TensorFlow.

`READERS` below is the layout registry: detection, `find_reader`, the errors
and the help text shown when no layout is found are all built from it.

To add a layout:
  1. Write `layouts/<layout>.py` with a `base.Reader` subclass that sets
     `layout` (its name) and `help_text` (what it needs in the manual dir), and
     implements `detect(root)` and the listing and reading methods.
  2. Add the class to `READERS`, in the order layouts are listed in help
     texts and errors.
"""

from __future__ import annotations

from etils import epath

from imagenet_custom.errors import InputError
from imagenet_custom.layouts import blurred
from imagenet_custom.layouts import folders
from imagenet_custom.layouts import kaggle
from imagenet_custom.layouts import kaggle_zip
from imagenet_custom.layouts import official_archives
from imagenet_custom.layouts.base import Reader
from imagenet_custom.layouts.base import Sources
from imagenet_custom.layouts.devkit import DevkitFacts

__all__ = [
    'LAYOUTS', 'LAYOUT_HELP', 'READERS', 'DevkitFacts', 'Reader', 'Sources',
    'detect_layouts', 'find_reader', 'reader_of',
]

# The layout registry.
READERS: tuple[type[Reader], ...] = (
    official_archives.ArchiveReader,
    kaggle.KaggleReader,
    kaggle_zip.KaggleZipReader,
    folders.FolderReader,
    blurred.BlurredReader,
)

LAYOUTS = tuple(reader_type.layout for reader_type in READERS)
assert len(set(LAYOUTS)) == len(READERS), 'two readers share a layout name'


def _layout_help() -> str:
  items = '\n'.join(
      f'{number}. {reader_type.help_text}'
      for number, reader_type in enumerate(READERS, start=1)
  )
  return (
      'imagenet_custom reads one of these layouts from the manual dir, in'
      f' place:\n\n{items}\nClass folders and inner tars must be named by'
      ' WNID (n01440764), not by class\nname: two pairs of ImageNet classes'
      ' share a name (crane, maillot).'
  )


# What each layout needs, shown when none is found. Shared with the builder's
# manual download instructions.
LAYOUT_HELP = _layout_help()


def detect_layouts(root: epath.Path) -> list[str]:
  """The layouts that `root` looks like, in registry order.

  Args:
    root: the manual dir.

  Returns:
    The names of the layouts detected.
  """
  return [reader_type.layout for reader_type in READERS if reader_type.detect(root)]


def reader_of(layout: str, root: epath.Path) -> Reader:
  """The reader of a named layout over `root`, unchecked (see `find_reader`).

  Raises:
    InputError: `layout` is not one of `LAYOUTS`.
  """
  for reader_type in READERS:
    if reader_type.layout == layout:
      return reader_type(root)
  raise InputError(
      f'Unknown layout {layout!r}: choose one of'
      f' {", ".join(reader_type.layout for reader_type in READERS)}.'
  )


def _check_complete(reader: Reader) -> None:
  """Val images are required; without train images the build is evaluation-only."""
  sources = reader.sources()
  if sources.val_images is not None:
    return
  missing = ['val images']
  if sources.train_images is None:
    missing.insert(0, 'train images')
  raise InputError(
      f'{reader.root} looks like the {reader.layout!r} layout but has no'
      f' {" and no ".join(missing)}. Val images (and their labels) are'
      ' needed for any build; train images are optional (without them the'
      f' build is evaluation-only).\n\n{LAYOUT_HELP}'
  )


def find_reader(
    manual_dir: epath.PathLike,
    layout: str = 'auto',
    cache_dir: epath.PathLike | None = None,
) -> Reader:
  """Finds the input layout in `manual_dir` and returns its reader.

  Args:
    manual_dir: the folder holding the user's ImageNet download.
    layout: `auto`, or one of `LAYOUTS` to choose when several are present.
    cache_dir: where the reader may keep files it computes once and reuses
      (`Reader.cache_dir`); None writes nothing.

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
  found = detect_layouts(root) if layout == 'auto' else [layout]
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
  reader = reader_of(found[0], root)
  reader.cache_dir = None if cache_dir is None else epath.Path(cache_dir)
  _check_complete(reader)
  return reader
