"""`python -m imagenet_custom.show`: draws examples of a built dataset (`imagenet_custom.tools.show`)."""

import sys

from imagenet_custom.tools.show import main

if __name__ == '__main__':
  sys.exit(main())
