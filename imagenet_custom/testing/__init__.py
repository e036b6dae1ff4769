"""Test helpers: a generator of fake ImageNet downloads.

`python -m imagenet_custom.testing.fake_imagenet` (or `fake_imagenet.
write_fake_imagenet`) writes one. Its modules, in the order they run:

* `spec`: what to generate (`FakeSpec`, the dummy and realistic presets);
* `planning`, with `quirks` and `box_annotations`: every random choice, made up
  front into a `plan_types.DatasetPlan`;
* `rendering`: the image bytes (in a process pool for large specs);
* `image_writer`, `official_archives`, `kaggle_files` (with `tars` and
  `names`): the three layouts;
* `manifest`: `manifest.json`, what a reader must get out of it.

Post-processors of the generated dummy data, for the build variants
(docs/variants.md): `variants` (evaluation-only copies, `real.json`, subset
lists), `blurred` (the face-blurred layout), `kaggle_zip` (the Kaggle tree as
the unextracted zip).
"""
