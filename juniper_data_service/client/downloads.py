"""The artifact endpoints: a dataset's arrays downloaded as NPZ bytes, NumPy arrays or Arrow.

They are the client's binary-body endpoints, kept apart from the JSON ones of :mod:`.api` because
each reads its body its own way (whole into one buffer, or streamed to pyarrow). :class:`ArtifactDownloads`
is a base of :class:`~.api.JuniperDataClient`; users call these methods on the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, overload

import numpy as np

from .arrow import ARROW_MEDIA_TYPE, ArrowBatchStream
from .bodies import load_npz
from .connection import Connection
from .errors import JuniperDataClientError

if TYPE_CHECKING:
    import pyarrow as pa


class ArtifactDownloads(Connection):
    """``GET /v1/datasets/{id}/artifact`` in its forms; a base of :class:`~.api.JuniperDataClient`."""

    def download_artifact_bytes(self, dataset_id: str) -> bytes:
        """Return the dataset's NPZ artifact (all six arrays) as bytes."""
        return self._bytes("GET", f"/v1/datasets/{dataset_id}/artifact")

    def download_artifact_npz(self, dataset_id: str) -> dict[str, np.ndarray]:
        """Download and load the NPZ artifact.

        Returns
        -------
        dict of str to numpy.ndarray
            ``X_train, y_train, X_test, y_test, X_full, y_full``: float32, 2-D, ``X`` of shape
            ``(rows, n_features)``, ``y`` one-hot of shape ``(rows, n_classes)``.
        """
        return load_npz(self.download_artifact_bytes(dataset_id))

    def download_rows(
        self, dataset_id: str, split: str = "train", offset: int = 0, limit: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Download rows ``[offset, offset + limit)`` of one split; the server computes only those.

        Parameters
        ----------
        dataset_id : str
            The dataset.
        split : {"train", "test", "full"}, default "train"
            Which pair of arrays.
        offset : int, default 0
            First row.
        limit : int or None
            Number of rows; ``None`` to the end of the split.

        Returns
        -------
        X : numpy.ndarray of float32, shape (rows, n_features)
        y : numpy.ndarray of float32, shape (rows, n_classes), one-hot
        """
        content = self._bytes(
            "GET",
            f"/v1/datasets/{dataset_id}/artifact",
            params={"format": "npz", "split": split, "offset": offset, "limit": limit},
        )
        arrays = load_npz(content)
        try:
            return arrays[f"X_{split}"], arrays[f"y_{split}"]
        except KeyError as exc:
            raise JuniperDataClientError(
                f"The artifact has no {exc.args[0]!r} array (it has {sorted(arrays)})"
            ) from exc

    @overload
    def download_arrow(
        self,
        dataset_id: str,
        split: str = ...,
        *,
        offset: int | None = ...,
        limit: int | None = ...,
        stream: Literal[False] = ...,
    ) -> pa.Table: ...

    @overload
    def download_arrow(
        self,
        dataset_id: str,
        split: str = ...,
        *,
        offset: int | None = ...,
        limit: int | None = ...,
        stream: Literal[True],
    ) -> ArrowBatchStream: ...

    def download_arrow(
        self,
        dataset_id: str,
        split: str = "full",
        *,
        offset: int | None = None,
        limit: int | None = None,
        stream: bool = False,
    ) -> pa.Table | ArrowBatchStream:
        """Download one split as an Arrow IPC stream (needs pyarrow).

        Parameters
        ----------
        dataset_id : str
            The dataset.
        split : {"full", "train", "test"}, default "full"
            Which split.
        offset, limit : int or None
            A row range of the split; ``None`` for the start / the end.
        stream : bool, default False
            False: return a :class:`pyarrow.Table`. True: return an :class:`ArrowBatchStream`, an
            iterator of :class:`pyarrow.RecordBatch` decoded as bytes arrive, so a dataset larger
            than memory can be consumed batch by batch.

        Returns
        -------
        pyarrow.Table or ArrowBatchStream
            Columns ``X`` (fixed-size list of float32, n_features), ``y`` (fixed-size list of
            float32, n_classes, one-hot) and ``label`` (int32).
        """
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "download_arrow needs pyarrow: pip install 'juniper-data[arrow]' (or pyarrow)"
            ) from exc
        response = self._send(
            "GET",
            f"/v1/datasets/{dataset_id}/artifact",
            params={"format": "arrow", "split": split, "offset": offset, "limit": limit},
            headers={"Accept": ARROW_MEDIA_TYPE},
            stream=True,
        )
        batches = ArrowBatchStream(response)
        return batches if stream else batches.read_all()
