"""`python -m hub` is `pmhub`."""

from hub.cli import main

main()
