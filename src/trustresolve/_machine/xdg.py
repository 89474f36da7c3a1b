"""platformdirs' directories on a plain Unix, named without importing platformdirs.

Importing platformdirs cost a first run 15-30 ms (``python -X importtime``: it brings
``pathlib``, ``tempfile``, ``shutil``, ``urllib.parse``...), against the ``ssl`` module's whole
load of a 150-root store (architecture §9.2). Where every platformdirs release trustresolve
supports computes a directory the same simple way (platformdirs ``unix.py``), it is named
here; anywhere else, platformdirs decides. ``tests/test_cache.py`` and
``tests/test_env_config.py`` compare both answers in fresh interpreters.
"""

from __future__ import annotations

import os
import sys

__all__ = ["plain_unix_home", "plain_unix_site_config"]

_APP = "trustresolve"


def plain_unix_home(variable: str, default: str) -> str | None:
    """``os.path.expanduser(default)/trustresolve``, the user directory platformdirs gives
    when ``variable`` (``XDG_CACHE_HOME``, ``XDG_CONFIG_HOME``) is unset or empty, on a Unix
    that is not Android, with an absolute ``HOME``; ``None`` anywhere else."""
    if not _plain_unix() or os.environ.get(variable):
        return None
    return os.path.join(os.path.expanduser(default), _APP)


def plain_unix_site_config() -> str | None:
    """``/etc/xdg/trustresolve``, platformdirs' ``site_config_dir`` when ``XDG_CONFIG_DIRS``
    is unset or empty on a plain Unix (see :func:`plain_unix_home`); else ``None``."""
    if not _plain_unix() or os.environ.get("XDG_CONFIG_DIRS"):
        return None
    return f"/etc/xdg/{_APP}"


def _plain_unix() -> bool:
    environ = os.environ
    if sys.platform in ("win32", "darwin", "cygwin", "android", "ios"):
        return False
    if "ANDROID_DATA" in environ or "ANDROID_ROOT" in environ:
        return False
    return os.path.isabs(environ.get("HOME", ""))
