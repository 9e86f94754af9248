"""One error type for everything a user can get wrong, and the CLI wrapper that reports it.

Every command-line entry point runs through `run_cli`, so bad input ends with one line on
stderr (`error: reviews.tsv:2: expected LABEL<TAB>TEXT`), exit status 2 and no traceback.
"""
import sys


class UserError(Exception):
    """Bad input from the user: a file, a flag, a model directory. The message names
    what and where (`path:line: what is wrong` when there is a line)."""


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
