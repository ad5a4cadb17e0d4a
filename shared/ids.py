"""Random (version 4) UUIDs from a buffer of the operating system's randomness.

``uuid.uuid4()`` makes one ``os.urandom(16)`` system call per id, and a registration makes about ten ids; taking
them from a 4 KiB buffer keeps the same source of randomness at a fraction of the calls.
"""

from __future__ import annotations

import os
import threading
import uuid

_BUFFER = 4096
_pool = b""
_pos = _BUFFER
_lock = threading.Lock()


def random_uuid() -> uuid.UUID:
    global _pool, _pos
    with _lock:
        if _pos + 16 > len(_pool):
            _pool, _pos = os.urandom(_BUFFER), 0
        raw = _pool[_pos : _pos + 16]
        _pos += 16
    return uuid.UUID(bytes=raw, version=4)


def _forget_pool() -> None:
    """A forked child must never hand out its parent's remaining bytes again."""
    global _pool, _pos
    _pool, _pos = b"", _BUFFER


os.register_at_fork(after_in_child=_forget_pool)
