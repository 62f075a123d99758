"""``/v1/generators`` and ``/v1/generators/{name}/schema``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

import juniper_data_core as jd
from juniper_data_service.errors import error_responses
from juniper_data_service.schemas import GeneratorInfo

router = APIRouter(prefix="/generators", tags=["generators"])


@router.get("", response_model=list[GeneratorInfo], response_model_by_alias=True)
async def list_generators() -> list[GeneratorInfo]:
    """Every generator: name, default version, versions, description, params schema, availability."""
    return [
        GeneratorInfo(
            name=name,
            version=g["default_version"],
            versions=list(g["versions"]),
            description=g["description"],
            schema=g["schema"],
            available=g["available"],
            install_hint=g["install_hint"],
        )
        for name, g in jd.generator_catalog().items()
    ]


@router.get("/{name}/schema", response_model=dict[str, Any], responses=error_responses(404))
async def generator_schema(name: str) -> dict[str, Any]:
    """The JSON schema of a generator's params; 404 for an unknown name."""
    found = jd.generator_catalog().get(name)
    if found is None:
        raise HTTPException(
            404, f"generator {name!r} not found; available: {', '.join(sorted(jd.generator_catalog()))}"
        )
    schema: dict[str, Any] = found["schema"]
    return schema
