"""``juniper-data fetch mnist|fashion_mnist``: download the four IDX files into the data directory.

The one place anything is downloaded: the ``mnist`` generator never downloads at request
time (without the files it answers 503 and names this command). Files go to
``<dir>/<dataset>/`` where ``<dir>`` is ``--dir``, else ``JUNIPER_DATA_SOURCES_PATH``, else
``~/.cache/juniper-data/sources``: where the generator looks. Each file is streamed to a
temporary name, its MD5 compared with the published one (torchvision's list), then
renamed into place, so a broken download never leaves a file that looks whole. Mirrors
are tried in order. Files already there are kept (``--force`` downloads again). At the end
the four files are read and checked (:func:`juniper_data_core.generators.mnist.read_idx_files`).
"""

import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from juniper_data_core.errors import DataUnavailableError

if TYPE_CHECKING:
    import typer

#: Where each dataset's files are published, tried in order.
MIRRORS: dict[str, tuple[str, ...]] = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion_mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}
#: The published MD5 of each gzipped file (the sums torchvision checks).
MD5: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}
_BLOCK = 1 << 20


class FetchError(DataUnavailableError):
    """A download that failed on every mirror, or a file whose checksum is not the published one."""


def target_directory(dataset: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """Where ``fetch`` writes ``dataset``: ``<directory or the default source directory>/<dataset>``."""
    if directory is None:
        from juniper_data_core.sources.directory import default_directory

        return default_directory().root / dataset
    return Path(directory) / dataset


def fetch(
    dataset: str,
    directory: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download ``dataset``'s four files (see the module docstring); the directory they are in.

    ``mirrors`` and ``checksums`` default to the published ones (:data:`MIRRORS`, :data:`MD5`).
    Raises FetchError (no mirror answered, a checksum differs), or the IdxFormatError of a
    file that is not the IDX it should be.
    """
    if dataset not in MIRRORS:
        raise FetchError(f"fetch knows {', '.join(MIRRORS)}, not {dataset!r}")
    target = target_directory(dataset, directory)
    target.mkdir(parents=True, exist_ok=True)
    sums = dict(checksums if checksums is not None else MD5[dataset])
    for name, md5 in sums.items():
        path = target / name
        if not force and _present(target, name):
            continue
        _download(name, md5, mirrors if mirrors is not None else MIRRORS[dataset], path, timeout)
    from juniper_data_core.generators.mnist import find_files, read_idx_files

    files = find_files(target)
    if files is None:
        raise FetchError(f"{target} still lacks some of the four files after the download")
    read_idx_files(files, dataset)
    return target


def _present(target: Path, name: str) -> bool:
    """Whether the file ``name`` is there under any of the names the generator accepts."""
    base = name.removesuffix(".gz")
    dotted = base.replace("-idx", ".idx")
    return any((target / n).is_file() for n in (base, f"{base}.gz", dotted, f"{dotted}.gz"))


def _download(name: str, md5: str, mirrors: Sequence[str], path: Path, timeout: float) -> None:
    errors = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        fd, temp_name = tempfile.mkstemp(prefix=".fetch-", dir=path.parent)
        temp = Path(temp_name)
        try:
            digest = hashlib.md5(usedforsecurity=False)
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                while block := response.read(_BLOCK):
                    digest.update(block)
                    out.write(block)
            if digest.hexdigest() != md5:
                errors.append(f"{url}: MD5 {digest.hexdigest()} is not the published {md5}")
                continue
            os.replace(temp, path)
            return
        except (urllib.error.URLError, OSError, ValueError) as err:
            errors.append(f"{url}: {getattr(err, 'reason', None) or err}")
        finally:
            temp.unlink(missing_ok=True)
    raise FetchError(
        f"could not download {name} ({'; '.join(errors)}); check the network (a proxy: HTTPS_PROXY), "
        f"or copy the file into {path.parent} by hand"
    )


def register(app: "typer.Typer") -> None:
    """Add ``fetch`` to the ``juniper-data`` command. (No ``from __future__ import annotations``
    in this module: typer reads the command's annotations at run time.)"""
    import typer

    @app.command("fetch")
    def fetch_command(
        dataset: Annotated[str, typer.Argument(help="mnist or fashion_mnist.")],
        directory: Annotated[
            str | None,
            typer.Option(
                "--dir",
                help="Data directory (default: JUNIPER_DATA_SOURCES_PATH or ~/.cache/juniper-data/sources).",
            ),
        ] = None,
        force: Annotated[bool, typer.Option(help="Download again even if the files are there.")] = False,
    ) -> None:
        """Download MNIST or Fashion-MNIST's four IDX files into the data directory, where the
        mnist generator reads them (nothing is downloaded when a dataset is made)."""
        where = fetch(dataset, directory, force=force)
        print(f"{dataset}: the four IDX files are in {where}", file=sys.stderr)


__all__ = ["MD5", "MIRRORS", "FetchError", "fetch", "register", "target_directory"]
