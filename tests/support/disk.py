"""Files that really refuse writes, for the tests of recovering from write errors.

Two real failures, no fault injected into Parley:

- `writes_fail()`: every write this process makes to a file fails with EFBIG (RLIMIT_FSIZE of
  one byte; Python ignores SIGXFSZ), which SQLite reports as `disk I/O error`, as on a disk
  that refuses writes. Works for any user on any file system. Connections opened meanwhile
  open normally.
- `refuse_writes(paths)`: the files cannot be opened for writing, so SQLite opens a new
  connection to them read-only, as it does to a file made read-only while the server runs:
  `chattr +i` as root (chmod does not stop root), chmod 0400 for anyone else (who cannot
  chattr). Writes through descriptors already open fail under chattr +i only.
"""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def writes_fail() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


@contextmanager
def refuse_writes(*paths: Path) -> Iterator[None]:
    # Never the -shm file: SQLite maps it, and a mapped page that cannot be written is SIGBUS.
    files = [str(path) for path in paths if path.exists()]
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", *files], check=True)  # needs ext4, xfs, btrfs...
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *files], check=True)
        return
    modes = {path: os.stat(path).st_mode for path in files}
    for path in files:
        os.chmod(path, 0o400)
    try:
        yield
    finally:
        for path, mode in modes.items():
            os.chmod(path, mode)
