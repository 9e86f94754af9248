"""One error type for everything a user can get wrong, and the CLI wrapper that reports it.

Every command-line entry point runs through `run_cli`, so bad input ends with one line on
stderr (`error: reviews.tsv:2: expected LABEL<TAB>TEXT`), exit status 2 and no traceback.
The same holds for a bad flag (`ArgumentParser`) and for a file the system refuses to read or
write (an `OSError`, named by its path).

`run_cli` is also the one place that handles Ctrl-C: `interrupted`, exit status 130. The
commands import mxnet inside their `main`, so an interrupt while it loads lands here too; code
below may say what an interrupt leaves behind (`loop.fit` names the epochs saved for
`--resume`), then re-raise it.
"""
import argparse
import sys


class UserError(Exception):
    """Bad input from the user: a file, a flag, a model directory. The message names
    what and where (`path:line: what is wrong` when there is a line)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, with a bad flag reported as one `error:` line like any other bad input
    (argparse's own report is the usage block, then the error, on several lines)."""

    def error(self, message):
        raise UserError(f"{message} (see {self.prog} --help)")


def run_cli(main, argv=None):
    """Call `main(argv)`; turn `UserError` into one stderr line and exit status 2,
    and Ctrl-C into exit status 130, without a traceback."""
    try:
        return main(argv)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        # `... | head` closed the pipe: stop quietly, as Unix tools do.
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
    except OSError as err:
        # A path the system refused (permissions, a full disk, a file where a directory
        # should be): the path and the reason say all a user can act on.
        where = f"{err.filename}: " if err.filename else ""
        print(f"error: {where}{err.strerror or err}", file=sys.stderr)
        sys.exit(2)
