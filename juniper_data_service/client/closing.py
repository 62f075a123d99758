"""``with`` support for the client's objects that hold an HTTP resource and have ``close()``.

Both :class:`~.api.JuniperDataClient` (a connection pool) and :class:`~.arrow.ArrowBatchStream` (one
open response) release what they hold in ``close()``; this base class gives them ``with`` blocks.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """``with`` support for a class with ``close()``: the block's end closes it."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
