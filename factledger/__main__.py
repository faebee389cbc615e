"""`python -m factledger`: the command line."""

from factledger.cli import main

main()
