"""Where ``Log.follow`` stopped: a place in the log that survives its rotation.

A cursor is a byte offset in one file of the log, with the file named by what
rotation leaves alone: its device and inode (a rename keeps them) and its
bytes before the offset, up to 4 KiB (written once, never changed). After
``file`` becomes ``file.1`` the cursor still finds it, reads it to its end
and goes on into the newer files, so nothing is read twice or skipped. An
inode number is reused once its file is deleted: the first bytes tell the
new file from the old one. A cursor at the very start of a file has no bytes
to tell by, so it is taken only while the log has deleted no file.

The digest covers the offset too, and the bytes just before it: a cursor
edited to another offset is refused, so a read always starts on a line.
The text is opaque to callers: ``1.OFFSET.DIGEST``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from typing import BinaryIO, NamedTuple

# How much of a file's start names it, with its inode.
PREFIX_BYTES = 4096
# How much just before the offset the digest covers too: the end of the line read last.
BEFORE_BYTES = 256
_TEXT = re.compile(r"1\.([0-9]{1,19})\.([0-9a-f]{24})")


class CursorError(ValueError):
    """A cursor that is malformed, or names no file this log still keeps."""


class LogFile(NamedTuple):
    """One file of the log, open, as a read found it."""

    handle: BinaryIO
    #: Its size when the read began: later writes lie past it.
    size: int
    #: ``"device:inode"``, kept when the file is renamed by a rotation.
    identity: str

    @classmethod
    def open(cls, handle: BinaryIO) -> LogFile:
        status = os.fstat(handle.fileno())
        return cls(handle, status.st_size, f"{status.st_dev}:{status.st_ino}")


def _digest(file: LogFile, offset: int) -> str:
    fd = file.handle.fileno()
    prefix = os.pread(fd, min(offset, PREFIX_BYTES), 0)
    before = os.pread(fd, min(offset, BEFORE_BYTES), offset - min(offset, BEFORE_BYTES))
    named = b"\0".join([file.identity.encode(), str(offset).encode(), prefix, before])
    return hashlib.blake2b(named, digest_size=12).hexdigest()


def cursor_at(files: list[LogFile], index: int, offset: int) -> str:
    """The cursor for ``offset`` in ``files[index]`` (files newest first, as one read opened them).

    The start of a file is the end of the one before it, when there is one:
    a cursor at offset 0 would be named by the inode alone.
    """
    if offset == 0 and index + 1 < len(files):
        index, offset = index + 1, files[index + 1].size
    return f"1.{offset}.{_digest(files[index], offset)}"


def find(text: object, files: list[LogFile], *, all_kept: bool = False) -> tuple[int, int]:
    """(index in ``files``, offset) that a cursor names; ``CursorError`` when it names none of them.

    ``all_kept``: the log has deleted none of its files yet (a cursor at the
    start of a file, named by its inode alone, is taken only then).
    """
    match = _TEXT.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise CursorError("is not a cursor that Log.follow returned")
    offset, digest = int(match[1]), match[2]
    for index, file in enumerate(files):
        if offset == 0 and not all_kept:
            break
        if file.size >= offset and hmac.compare_digest(_digest(file, offset), digest):
            return index, offset
    raise CursorError(
        "names a place this log no longer keeps (rotated away since) or another log service's; "
        "follow again without a cursor, with since"
    )
