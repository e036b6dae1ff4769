"""Random access into archives, read in place: tar (nested tars included),
tar.gz (one-pass index of members and gzip access points) and zip, each seen
as a tree of paths (`ArchivePath`). Knows nothing of ImageNet. May import only
`imagenet_custom.errors`; never TensorFlow.
"""
