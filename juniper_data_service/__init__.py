"""juniper_data_service: the JuniperData HTTP API (CONTRACT section 3) over the engine.

The cut: :mod:`juniper_data_core` turns recipes into arrays and byte streams; this
package turns HTTP requests into recipes, keeps each dataset as its recipe in a
database (:mod:`.storage`), caches artifact bytes on disk, and streams artifacts
out without blocking the event loop. Build an app with :func:`.app.create_app`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("juniper-data")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.1.0"

__all__ = ["__version__"]
