"""`python -m imagenet_custom.labels`: prints the label map (`imagenet_custom.tools.labels`)."""

from imagenet_custom.tools.labels import main

if __name__ == '__main__':
  main()
