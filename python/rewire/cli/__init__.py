"""The ``rewire`` command line. Every verb has ``--help``; progress goes to stderr.

The parser (:mod:`rewire.cli.parser`) is built without numpy or any verb's module; ``main`` imports the
module of the verb that runs (``rewire.cli.<verb>``, whose ``run(args)`` returns the exit status).
"""
from __future__ import annotations

import importlib
import signal
import sys
import threading
import time

from .parser import build_parser

__all__ = ["Progress", "build_parser", "main"]

class Progress:
    """A progress line on stderr: redrawn in place on a terminal, a few plain lines otherwise."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self.last = -1.0

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        finished = done >= total
        if not finished and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        text = f"{self.label}: {done}/{total} ({rate:.0f}/s, ETA {eta:.0f} s)"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if finished else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

class Terminated(BaseException):
    """SIGTERM (a scheduler's time limit, `kill`), raised in the main thread like KeyboardInterrupt, so that
    every ``finally`` runs and every file being written is removed instead of left as ``*.part``."""


def _terminate(signum, frame):
    raise Terminated()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "module", None):
        parser.print_help(sys.stderr)
        return 2
    main_thread = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return importlib.import_module(f".{args.module}", __name__).run(args)
    except (ValueError, OSError, FloatingPointError) as error:
        return _fail(args.verb, str(error))
    except MemoryError as error:  # std::bad_alloc from C++ arrives as MemoryError
        return _fail(args.verb, f"out of memory ({error or 'an allocation failed'}): the inputs need more "
                                "memory than this process may use")
    except KeyboardInterrupt:
        print(f"rewire {args.verb}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"rewire {args.verb}: terminated", file=sys.stderr)
        return 128 + signal.SIGTERM
    except Exception as error:  # a bug, not bad input: still one line, with the exception's type to report
        return _fail(args.verb, f"internal error, please report it: {type(error).__name__}: {error}")
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _fail(verb: str, message: str) -> int:
    """Prints the one line a failed command leaves on stderr (the message's own line breaks folded) and
    returns the exit status 1."""
    print(f"rewire {verb}: error: " + " ".join(message.split()), file=sys.stderr)
    return 1
