"""Writing files whole: a reader never sees half a file, a failed write keeps the old one."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

__all__ = ["replacing"]


@contextlib.contextmanager
def replacing(path):
    """A temporary path next to ``path``, moved onto it once the block has written it.

    An interrupted or failed write (a full disk, an exception) leaves any earlier file
    whole and no temporary file behind. Through a symlink, the file it names is
    replaced, not the link. The temporary name is short (a long target name plus a
    suffix could pass the 255-byte limit) and unique per call (threads and processes
    may write the same target). An overwritten file keeps its permissions; a new one
    gets the user's umask, as any file.

    Parameters
    ----------
    path : str or path-like
        The file to write.

    Yields
    ------
    tmp : pathlib.Path
        Where to write the content.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "data.txt"
    >>> with replacing(target) as tmp:
    ...     _ = tmp.write_text("complete")
    >>> target.read_text()
    'complete'
    """
    target = Path(os.path.realpath(path))
    tmp = target.with_name(f".part-{uuid.uuid4().hex[:16]}.tmp")  # torch wants a suffix
    try:
        yield tmp
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
