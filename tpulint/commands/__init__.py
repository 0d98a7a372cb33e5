"""Bodies of the CLI's commands, one module per command (``compile``, ``bench``, ``check --confirm``,
``baseline``, ``report``, ...).

``tpulint/cli.py`` declares the options (typer) and calls into these modules, which import heavy
dependencies (the compiler driver, the interpreter) lazily so that ``tpulint check`` stays fast.
"""
