"""`python -m imagenet_custom.export`: a build in other layouts (`imagenet_custom.tools.export.cli`)."""

from imagenet_custom.tools.export.cli import main

if __name__ == '__main__':
  main()
