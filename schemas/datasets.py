"""Data sets as resources: upload once (`POST /v1/datasets`), refer to them by id in any request with `data`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr

from schemas._base import RequestModel, ResponseModel

#: A data set id: the first 32 hex digits of the SHA-256 of its arrays (see `Dataset.sha256`).
DatasetId = Annotated[
    str,
    Field(
        pattern=r"^[0-9a-f]{32}$",
        description="Data set id: the first 32 hex digits of the SHA-256 of its stored arrays.",
        examples=["3f9a0c1b2d4e5f60718293a4b5c6d7e8"],
    ),
]

_Row = Annotated[list[float], Field(min_length=1)]


class Preprocess(RequestModel):
    """Optional preprocessing, applied with the **training** statistics only (the test rows never leak into them)."""

    standardize: bool = Field(
        default=False,
        description="Centre each feature by its training mean and divide by its training standard deviation (ddof = 0). "
        "A constant training feature is dropped (it carries no information) and named in `warnings`; `n_features` counts "
        "the remaining ones.",
        examples=[True],
    )
    scale: Literal["none", "sqrt_features"] = Field(
        default="none",
        description="`sqrt_features` divides every feature by √p afterwards, so that standardised samples have norm ≈ 1, "
        "the scaling the random-features theorem assumes.",
        examples=["sqrt_features"],
    )


class DatasetUpload(RequestModel):
    """A data set as JSON, one sample per row. The same arrays as a NumPy `.npz` give the same data set."""

    x: list[_Row] = Field(
        min_length=2, description="Training inputs X, n × p (rows are samples).", examples=[[[0.1, -0.2], [0.3, 0.05]]]
    )
    y: list[float] | list[_Row] = Field(
        description="Training targets: n values, or n rows of d outputs (e.g. one-hot).", examples=[[1.0, -1.0]]
    )
    x_test: list[_Row] | None = Field(default=None, description="Test inputs X̂, n̂ × p.", examples=[[[0.2, 0.1]]])
    y_test: list[float] | list[_Row] | None = Field(
        default=None, description="Test targets, n̂ values or n̂ × d (required with `x_test`).", examples=[[1.0]]
    )
    preprocess: Preprocess | None = Field(
        default=None, description="Optional preprocessing with the training statistics."
    )


class Dataset(ResponseModel):
    """A stored data set: its shape and identity. The arrays themselves are never echoed."""

    id: DatasetId
    n_samples: int = Field(description="n, training samples.", examples=[512])
    n_test: int = Field(description="n̂, test samples (0 when the data set has none).", examples=[1285])
    n_features: int = Field(description="p, input dimension.", examples=[64])
    n_outputs: int = Field(description="d, outputs per sample (1 for a vector y).", examples=[10])
    sha256: str = Field(
        description="SHA-256 (hex) of the stored arrays in canonical form (float64, C order, with shapes).",
        examples=["3f9a" + "0" * 60],
    )
    bytes: int = Field(description="Bytes of the stored arrays.", examples=[1_240_000])
    created: datetime = Field(description="When the data set was first stored (UTC).")
    preprocess: Preprocess = Field(description="The preprocessing applied before storing.")
    warnings: list[str] = Field(
        description="Where the data are far from the theorems' regime (e.g. sample norms far from O(1)), or constant features.",
        examples=[["median training-sample norm 8.0 is far from O(1): standardise and divide by √p (`preprocess`)."]],
    )


class DatasetList(ResponseModel):
    """A page of the caller's data sets, newest first."""

    items: list[Dataset] = Field(description="The data sets of this page.")
    total: int = Field(description="How many data sets the caller has.", examples=[3])
    limit: int = Field(description="Page size.", examples=[20])
    offset: int = Field(description="Data sets skipped.", examples=[0])
    next: str | None = Field(description="Path of the next page, or null.", examples=[None])


class DatasetReference(RequestModel):
    """A data set uploaded with `POST /v1/datasets`, by id.

    The schema only names the data set; the service attaches its arrays (:meth:`attach`) after
    checking that the caller may use it, before anything reads ``n_samples`` or the rows.
    """

    kind: Literal["dataset"] = Field(description="`dataset`: the arrays of a stored data set.", examples=["dataset"])
    id: DatasetId
    _arrays: Any = PrivateAttr(default=None)

    def attach(self, arrays: Any) -> None:
        """Attach the stored arrays (an object with ``x``, ``y``, ``x_test``, ``y_test``)."""
        self._arrays = arrays

    @property
    def resolved(self) -> bool:
        """Whether the arrays are attached."""
        return self._arrays is not None

    @property
    def arrays(self) -> Any:
        """The attached arrays."""
        if self._arrays is None:
            raise RuntimeError(f"data set {self.id} was not resolved by the service before use")
        return self._arrays

    @property
    def n_samples(self) -> int:
        """n."""
        return int(self.arrays.x.shape[0])

    @property
    def n_test(self) -> int:
        """n̂ (0 without test data)."""
        return 0 if self.arrays.x_test is None else int(self.arrays.x_test.shape[0])

    @property
    def n_features(self) -> int:
        """p."""
        return int(self.arrays.x.shape[1])
