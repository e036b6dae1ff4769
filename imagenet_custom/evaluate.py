"""`python -m imagenet_custom.evaluate`: scores saved predictions on the evaluation splits (`imagenet_custom.tools.evaluate`)."""

import sys

from imagenet_custom.tools.evaluate import main

if __name__ == '__main__':
  sys.exit(main())
