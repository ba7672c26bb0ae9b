"""Writing files so that a reader never sees a partial one: every Python writer in rewire goes through
:func:`atomic_write` (the C++ writers do the same in C++)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, Iterator, Optional, Sequence, Union

PathLike = Union[str, "os.PathLike[str]"]


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w") -> Iterator[IO]:
    """Opens a hidden temporary file beside ``path`` (same folder, so the rename cannot cross file
    systems); on a clean exit flushes it, fsyncs it and renames it to ``path``; on an error removes it
    and leaves any earlier ``path`` untouched. ``mode`` is ``"w"`` (text: UTF-8, ``\\n`` line ends) or
    ``"wb"``. The folder is created when missing."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write: mode must be 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
    try:
        text = {"encoding": "utf-8", "newline": "\n"} if mode == "w" else {}
        with os.fdopen(descriptor, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes it 0600; a finished file gets the usual mode
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def check_output_file(path: PathLike) -> None:
    """Refuses, before any work is done, an output file that could not be written: ``path`` is a folder,
    its folder does not exist (or is not a folder), or no file can be created there (read-only file
    system, no permission). Raises OSError naming the path and the reason; creates nothing."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a folder; the output must be a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(folder):
        raise FileNotFoundError(f"{path}: folder {folder} does not exist")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"{path}: {folder} is not a folder")
    _check_can_create(folder, path)


def check_output_folder(folder: PathLike) -> None:
    """Refuses, before any work is done, an output folder that could not receive files: it is a file, or
    the folder (or, when it is to be created, its nearest existing parent) does not accept new files.
    Raises OSError naming the folder and the reason; creates nothing."""
    folder = os.fspath(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(f"{folder}: is a file, not a folder")
    existing = os.path.abspath(folder)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise NotADirectoryError(f"{folder}: {existing} is not a folder")
    _check_can_create(existing, folder)


def _check_can_create(folder: str, output: str) -> None:
    """Creates and removes an empty hidden file in ``folder``: the one test that every file system, mount
    option and permission (also for root, whom permissions do not stop) answers truly."""
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".rewire-write-test.", dir=folder)
    except OSError as error:
        refused = type(error)(f"{output}: cannot write in {folder}: {error.strerror or error}")
        refused.errno = error.errno
        raise refused from None
    os.close(descriptor)
    os.unlink(probe)


def write_text(path: PathLike, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_write(path) as handle:
        handle.write(text)


def write_table(path: PathLike, values, header: Sequence[str], index: Optional[Sequence[str]] = None) -> None:
    """Writes a numeric table as TSV atomically: the ``header`` line, then one line per row of ``values``
    (10 significant digits, ``nan`` for NaN), each led by its ``index`` label when given (the header
    then names that column too)."""
    import numpy as np

    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{os.fspath(path)}: a table needs a 2-D array, got shape {array.shape}")
    with atomic_write(path) as handle:
        handle.write("\t".join(header) + "\n")
        if index is None:
            np.savetxt(handle, array, delimiter="\t", fmt="%.10g")
        else:
            for label, row in zip(index, array):
                handle.write(str(label) + "\t" + "\t".join(f"{v:.10g}" for v in row) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The process' umask, read once at import (reading it means setting it, which threads must not race).
_UMASK = _umask()
