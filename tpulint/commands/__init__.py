"""Bodies of the CLI's commands, one module per command (``compile``, ``bench``, ``check --confirm``,
``baseline``, ``report``, ...).

``tpulint/cli.py`` registers them with typer. They import heavy dependencies (the compiler
driver, the interpreter) lazily, and ``check`` and the options it shares are declared without
typer (``params.py``, ``check_cmd.py``), so that ``tpulint check`` stays fast.
"""
