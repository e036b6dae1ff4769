"""`python -m imagenet_custom.check`: checks a manual dir before a build (`imagenet_custom.tools.check`)."""

import sys

from imagenet_custom.tools.check import main

if __name__ == '__main__':
  sys.exit(main())
