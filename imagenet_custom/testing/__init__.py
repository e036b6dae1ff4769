"""Test helpers: a generator of fake ImageNet downloads (`fake_imagenet`)."""
