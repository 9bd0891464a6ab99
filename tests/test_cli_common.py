"""Every command reports a bad argument the same way: one line on stderr, exit status 2,
the user's text shown as text (never read as rich markup)."""

import pytest
from typer.testing import CliRunner

from optimlab.cli import app


@pytest.mark.parametrize("args,shown", [
    (["sweep", "rosenbrock", "--grid", "lr=0.1,[/x]"], "'[/x]' is not a number"),
    (["sweep", "rosenbrock", "--grid", "lr=[a]"], "[a]"),
    (["train", "iris-softmax", "-O", "adam:lr=[bold]"], "'[bold]'"),
    (["train", "iris-softmax", "-O", "foo"], "unknown optimizer 'foo'"),
    (["run", "beale", "-O", "adam:lr=[red]x", "--start", "1,1"], "[red]x"),
    # a message that ends in a quoted value keeps its closing quote (train stripped it)
    (["train", "iris-softmax", "-O", "rmsprop:centered=yes"], "centered must be True or False (true/false in "
                                                             "a spec), got 'yes'"),
    (["run", "beale", "-O", "rmsprop:centered=yes", "--start", "1,1"], "got 'yes'"),
])
def test_bad_arguments_are_one_plain_line(args, shown):
    r = CliRunner().invoke(app, args, env={"COLUMNS": "80"})
    assert r.exit_code == 2, r.output
    text = r.stderr.strip()
    assert text.startswith("error:") and len(text.splitlines()) == 1, text
    assert shown in text and "Traceback" not in r.output

