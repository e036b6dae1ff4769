"""imagenet_custom: ImageNet (ILSVRC2012) as a TFDS dataset, from your own download.

Importing the package registers the `imagenet_custom` builder with TFDS, so
`tfds build imagenet_custom --imports imagenet_custom` works once installed.
"""

from imagenet_custom.imagenet_custom_dataset_builder import Builder
from imagenet_custom.imagenet_custom_dataset_builder import ImagenetCustomConfig

__all__ = ['Builder', 'ImagenetCustomConfig']
