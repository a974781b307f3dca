"""The TOML parser on every Python the edge box runs: tomllib from 3.11, its backport tomli on 3.10 (JetPack 6)."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = ["tomllib"]
