"""``juniper-data serve``: the service's command, added to the engine's command line.

The engine's CLI knows nothing of the service: it loads the commands that installed
packages declare under the ``juniper_data.commands`` entry-point group (this package
declares :func:`register` in ``pyproject.toml``), so the dependency points one way,
service -> core. ``python -m juniper_data_service`` runs the same server.
"""

from __future__ import annotations

from typing import Annotated

import typer

from juniper_data_core.cli import CommandLineError


def register(app: typer.Typer) -> None:
    """Add ``serve`` (and ``import``, :mod:`juniper_data_service.sources_cli`) to the ``juniper-data``
    typer application."""
    from juniper_data_service.sources_cli import register as register_import

    register_import(app)

    @app.command("serve")
    def serve(
        host: Annotated[
            str, typer.Option(envvar="JUNIPER_DATA_HOST", help="Interface to bind.")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(envvar="JUNIPER_DATA_PORT", help="Port to listen on.")] = 8100,
    ) -> None:
        """Run the HTTP service (settings from JUNIPER_DATA_* variables)."""
        try:
            from juniper_data_service.app import run
        except ImportError as err:  # the service extra's libraries are missing
            raise CommandLineError(
                f"the HTTP service cannot start ({err}); pip install 'juniper-data[service]'"
            ) from None
        run(host=host, port=port)
