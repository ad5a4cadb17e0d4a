import uuid

from shared.ids import random_uuid


def test_random_uuids_are_version_4_and_distinct_across_many_buffers():
    ids = [random_uuid() for _ in range(5000)]  # about twenty refills of the buffer
    assert len(set(ids)) == len(ids)
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)


def test_a_forked_child_does_not_repeat_its_parents_ids():
    import os

    random_uuid()  # the parent has a buffer with bytes left
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, random_uuid().bytes)
        os._exit(0)
    os.waitpid(pid, 0)
    child = uuid.UUID(bytes=os.read(read, 16))
    assert child != random_uuid()
