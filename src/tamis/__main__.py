"""`python -m tamis`: the command line."""

from tamis.cli import app

app(prog_name="tamis")
