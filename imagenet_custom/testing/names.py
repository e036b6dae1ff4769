"""The names of the files in real ImageNet downloads, and of our layouts.

These are facts about the downloads the fake generator imitates: the official
ILSVRC2012 archive names, the paths of the Kaggle "ImageNet Object
Localization Challenge" tree, and the file-name patterns of the images.
"""

from __future__ import annotations

# The three layout directories written by the generator (one `manual_dir`
# each), and the manifest beside them.
ARCHIVES = 'archives'
KAGGLE = 'kaggle'
FOLDERS = 'folders'
ALL_LAYOUTS = (ARCHIVES, KAGGLE, FOLDERS)
MANIFEST_NAME = 'manifest.json'

# The official ILSVRC2012 archives (image-net.org).
TRAIN_TAR = 'ILSVRC2012_img_train.tar'
VAL_TAR = 'ILSVRC2012_img_val.tar'
BBOX_TRAIN_TAR = 'ILSVRC2012_bbox_train_v2.tar.gz'
BBOX_VAL_TAR = 'ILSVRC2012_bbox_val_v3.tgz'
DEVKIT_TAR = 'ILSVRC2012_devkit_t12.tar.gz'
DEVKIT_DATA = 'ILSVRC2012_devkit_t12/data'
META_MAT = 'meta.mat'
GROUND_TRUTH_2012 = 'ILSVRC2012_validation_ground_truth.txt'
BLACKLIST_2012 = 'ILSVRC2012_validation_blacklist.txt'

# The Kaggle tree (kaggle.com/c/imagenet-object-localization-challenge).
KAGGLE_IMAGES = 'ILSVRC/Data/CLS-LOC'
KAGGLE_ANNOTATIONS = 'ILSVRC/Annotations/CLS-LOC'
KAGGLE_IMAGE_SETS = 'ILSVRC/ImageSets/CLS-LOC'
KAGGLE_DEVKIT_DATA = 'ILSVRC/devkit/data'
KAGGLE_SYNSET_MAPPING = 'LOC_synset_mapping.txt'
KAGGLE_TRAIN_SOLUTION = 'LOC_train_solution.csv'
KAGGLE_VAL_SOLUTION = 'LOC_val_solution.csv'
KAGGLE_MAP_CLSLOC = 'map_clsloc.txt'
GROUND_TRUTH_2015 = 'ILSVRC2015_clsloc_validation_ground_truth.txt'
BLACKLIST_2015 = 'ILSVRC2015_clsloc_validation_blacklist.txt'
LOC_SOLUTION_HEADER = 'ImageId,PredictionString'

# Every ImageNet image is named `.JPEG` (upper case), whatever its content.
IMAGE_SUFFIX = '.JPEG'
VAL_STEM_FORMAT = 'ILSVRC2012_val_{:08d}'
# macOS writes a `._<name>` AppleDouble twin beside files copied to other
# file systems; such twins turn up in archives and folders.
APPLE_DOUBLE_PREFIX = '._'
# Separator of a junk location inside archives in the manifest:
# `layout/archive:member[:member]`.
MEMBER_SEPARATOR = ':'
