"""The command line: click commands over the library, the only place that prints.

    app.py       the `bulkdir` group, errors as one line in --lang, exit codes
    options.py   the connection options (`Connection`) every command that talks to WeCom takes
    progress.py  the tqdm progress bars, fed by the library's progress callbacks
    validate.py  emulator.py  doctor.py (doctor, sandbox)  imports.py (import, apply, delete, runs)
    template.py  export.py  serve.py (the web page)  sync.py (unattended runs)   one module per command

Each command parses its options, calls one library function, renders the result and sets the exit code.
A command's module is imported when the command is run (app.py's COMMANDS names it), so that a command loads
only what it uses: a new command goes in that table.
"""

from bulkdir.cli.app import cli, main

__all__ = ["cli", "main"]
