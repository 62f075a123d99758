"""Request and response bodies of the HTTP API (CONTRACT section 3), as pydantic models.

Request strings must be valid Unicode (no lone surrogates) and bounded; ``params``
must be plain JSON with finite numbers and bounded nesting, so that nothing a client
sends can fail later, when it is stored or echoed back.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

import juniper_data_core as jd

MAX_PARAMS_DEPTH = 8
MAX_PARAMS_ITEMS = 10_000


def _unicode(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return text


Text = Annotated[str, AfterValidator(_unicode)]
Tag = Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_unicode)]
Tags = Annotated[list[Tag], Field(max_length=100)]


def _check_json(value: Any, where: str, depth: int, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError(f"params has more than {MAX_PARAMS_ITEMS} values")
    if depth > MAX_PARAMS_DEPTH:
        raise ValueError(f"{where} is nested deeper than {MAX_PARAMS_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} must be a finite number, got {value}")
    if isinstance(value, str):
        _unicode(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _unicode(k)
            _check_json(v, f"{where}.{k}", depth + 1, budget)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{where}[{i}]", depth + 1, budget)


def _generator_names(schema: dict[str, Any]) -> None:
    # The names registered when the OpenAPI document is made. The value is checked by the
    # engine (an unknown name is a 400 naming the registered ones, CONTRACT section 3), not
    # by the request model, whose errors are 422.
    schema["enum"] = sorted(jd.generator_catalog())


def _backend_names(schema: dict[str, Any]) -> None:
    # What this server can run (an absent backend is a 400 naming the available ones).
    for choice in schema.get("anyOf", [schema]):
        if "enum" in choice:
            choice["enum"] = ["auto", *jd.available_backends()]


class DatasetRequest(BaseModel):
    """The fields of a dataset request (``generator`` any name: see the subclasses).

    Types are strict: ``persist: 0`` or ``ttl_seconds: "60"`` are 422s, not coerced.
    """

    generator: Annotated[str, Field(min_length=1, max_length=100)]
    params: dict[str, Any] = Field(default_factory=dict, description="Generator parameters (see its schema)")
    persist: StrictBool = Field(
        default=True, description="Cache the artifact bytes (metadata is kept either way)"
    )
    tags: Tags = Field(default_factory=list)
    ttl_seconds: StrictInt | None = Field(default=None, ge=1, le=10 * 365 * 86400, description="Time to live")
    name: Annotated[Text, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Logical dataset name; each new recipe under it gets the next version"
    )
    description: Annotated[Text, Field(max_length=2000)] | None = None
    created_by: Annotated[Text, Field(max_length=200)] | None = None
    parent_dataset_id: Annotated[Text, Field(max_length=200)] | None = None
    version: Annotated[str, Field(max_length=20)] | None = Field(
        default=None, description="Generator version (default: the generator's default, 2.0.0)"
    )
    backend: Literal["auto", "numpy", "numba", "jax", "cupy"] | None = Field(
        default=None,
        description="Backend to generate with (default: the service's JUNIPER_DATA_BACKEND)",
        json_schema_extra=_backend_names,
    )

    @field_validator("params")
    @classmethod
    def _plain_json(cls, params: dict[str, Any]) -> dict[str, Any]:
        _check_json(params, "params", 0, [MAX_PARAMS_ITEMS])
        return params


class CreateDatasetRequest(DatasetRequest):
    """``POST /v1/datasets``: a registered generator, its params, and how to keep the result."""

    generator: Annotated[str, Field(min_length=1, max_length=100, json_schema_extra=_generator_names)]


class DatasetMeta(BaseModel):
    """A dataset's metadata (CONTRACT section 3, compat fields first)."""

    model_config = ConfigDict(extra="allow")

    dataset_id: str
    generator: str
    generator_version: str
    params: dict[str, Any]
    n_samples: int
    n_features: int
    n_classes: int
    n_train: int
    n_test: int
    class_distribution: dict[str, int]
    artifact_formats: list[str]
    created_at: str = Field(description="UTC ISO-8601 ending in Z")
    checksum: str | None = Field(description="sha256 of the full NPZ once it has been produced")
    tags: list[str]
    ttl_seconds: int | None
    expires_at: str | None
    last_accessed_at: str | None
    access_count: int
    backend: str
    dataset_name: str | None
    dataset_version: int | None
    description: str | None
    created_by: str | None
    parent_dataset_id: str | None


class CreateDatasetResponse(BaseModel):
    dataset_id: str
    generator: str
    meta: DatasetMeta
    artifact_url: str
    warnings: list[str]


class GeneratorInfo(BaseModel):
    name: str
    version: str = Field(description="The default version")
    versions: list[str]
    description: str
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")
    available: bool
    install_hint: str | None

    model_config = ConfigDict(populate_by_name=True)


class DatasetListResponse(BaseModel):
    datasets: list[DatasetMeta]
    total: int
    limit: int
    offset: int


class DatasetStats(BaseModel):
    total_datasets: int
    total_samples: int
    by_generator: dict[str, int]
    by_tag: dict[str, int]
    oldest_created_at: str | None
    newest_created_at: str | None
    expired_count: int


class VersionList(BaseModel):
    dataset_name: str
    versions: list[DatasetMeta]
    total: int
    latest_version: int | None


class BatchCreateRequest(BaseModel):
    """Items are accepted whatever their generator: each fails or succeeds on its own."""

    datasets: list[DatasetRequest] = Field(min_length=1, max_length=50)


class BatchCreateResult(BaseModel):
    index: int
    dataset_id: str | None = None
    generator: str
    success: bool
    error: str | None = None
    artifact_url: str | None = None


class BatchCreateResponse(BaseModel):
    results: list[BatchCreateResult]
    total_created: int
    total_failed: int


DatasetIds = Annotated[list[Annotated[str, Field(max_length=200)]], Field(min_length=1, max_length=100)]


class BatchDeleteRequest(BaseModel):
    dataset_ids: DatasetIds


class BatchDeleteResponse(BaseModel):
    deleted: list[str]
    not_found: list[str]
    total_deleted: int


class UpdateTagsRequest(BaseModel):
    add_tags: Tags = Field(default_factory=list)
    remove_tags: Tags = Field(default_factory=list)


class BatchTagsRequest(UpdateTagsRequest):
    dataset_ids: DatasetIds


class BatchTagsResponse(BaseModel):
    updated: list[str]
    not_found: list[str]
    total_updated: int


class BatchExportRequest(BaseModel):
    dataset_ids: Annotated[list[Annotated[str, Field(max_length=200)]], Field(min_length=1, max_length=50)]


class Preview(BaseModel):
    n_samples: int
    X_sample: list[list[float]]
    y_sample: list[list[float]]


class AccessStats(BaseModel):
    dataset_id: str
    access_count: int
    last_accessed_at: str | None


class Health(BaseModel):
    status: str
    version: str


class Liveness(BaseModel):
    status: str


class DependencyHealth(BaseModel):
    status: str
    latency_ms: float | None
    message: str | None


class Readiness(BaseModel):
    status: str
    version: str
    service: str
    timestamp: str
    dependencies: dict[str, DependencyHealth]
    backends: list[str]
