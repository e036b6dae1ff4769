"""The Kaggle download unextracted: `imagenet-object-localization-challenge.zip`.

The same reader as the extracted Kaggle tree (`layouts/kaggle.py`), over the
zip's entries instead of folders (`archives/zip_tree.py`): every image is read
from the zip through its central directory, stored or deflated, never
extracted. The shards are byte-identical to a build of the extracted tree.
"""

from __future__ import annotations

from etils import epath

from imagenet_custom.archives.zip_tree import ZipTree
from imagenet_custom.layouts import kaggle

# The file `kaggle competitions download -c imagenet-object-localization-challenge`
# writes; its entries are the Kaggle tree (`ILSVRC/...` and the `LOC_*` files).
KAGGLE_ZIP = 'imagenet-object-localization-challenge.zip'


class KaggleZipReader(kaggle.KaggleReader):
  """Reads the Kaggle download straight from its zip file."""

  layout = 'kaggle_zip'
  help_text = f"""\
kaggle_zip (the Kaggle download, not extracted):
     {KAGGLE_ZIP}, read entry by entry in place: no disk
     space is needed for an extracted copy."""

  @classmethod
  def detect(cls, root: epath.Path) -> bool:
    return (root / KAGGLE_ZIP).exists()

  @property
  def _tree(self) -> ZipTree:  # pytype: disable=signature-mismatch
    """The zip's top folder."""
    return ZipTree(self.root / KAGGLE_ZIP)

  def zip_path(self) -> epath.Path:
    """The zip file read."""
    return self.root / KAGGLE_ZIP
