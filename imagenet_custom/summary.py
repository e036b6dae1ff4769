"""`python -m imagenet_custom.summary`: summarises a built dataset (`imagenet_custom.tools.summary`)."""

from imagenet_custom.tools.summary import main

if __name__ == '__main__':
  main()
