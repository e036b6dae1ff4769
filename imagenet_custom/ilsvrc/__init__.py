"""ImageNet's own facts and files: the 1,000 WNIDs and ILSVRC IDs, devkit and
Kaggle metadata parsers, box XML, image content checks, how val labels are
resolved, ReaL labels, class lists and subsets, the split rule and the official
archives' checksums. Pure parsers and rules: they take bytes and values, not
readers. May import `archives` and `imagenet_custom.errors`; never TensorFlow.
"""
