"""`python -m imagenet_custom.export`: a built dataset in the layouts other
training code reads (class folders, inception/TPU TFRecords, WebDataset tars,
DALI index files).

Every module here but `cli` runs in the build's worker processes, so none of
them imports TensorFlow or TFDS: the export reads the built dataset's files
(`dataset_info.json`, `label.labels.txt`, the shards), never the builder.
"""
