"""Allow `python -m qaagent`."""

from qaagent.cli import main

main()
