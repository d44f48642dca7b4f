"""The secret key a site generates for itself when none is configured, kept in its data directory."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path


def stored_secret(data_dir: Path) -> str:
    """The key in `data_dir/secret_key`, generated on first use (mode 0600)."""
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".secret_key.")  # created with mode 0600
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
            # A link never replaces a key, so web workers starting together agree on one: each keeps
            # the key it read for good, and would reject tokens signed with an overwritten one.
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another process got there first: use its key
            except OSError:  # a filesystem without hard links: the last writer wins, as before
                os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    return path.read_text().strip()
