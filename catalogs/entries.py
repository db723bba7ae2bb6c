"""A catalog model entry: where it comes from plus its Hugging Face config, verbatim.

Its own module so that the loader and the Hugging Face cache scan both build entries without
importing each other.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from engine.model import ModelSpec, from_hf_config

Origin = Literal["bundled", "user", "hf-cache", "imported"]


class ModelEntry(BaseModel):
    """A catalog model: where it comes from plus its Hugging Face config, verbatim."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    name: str = ""
    hf_repo: str | None = None
    source: str = ""
    note: str = ""
    params_published: float | None = Field(default=None, gt=0)
    params_published_source: str = ""
    active_params_published: float | None = Field(default=None, gt=0)
    config: dict[str, Any]
    origin: Origin = "bundled"
    path: str | None = Field(default=None, description="file the entry was read from")

    _spec: ModelSpec | None = PrivateAttr(default=None)

    @property
    def spec(self) -> ModelSpec:
        """The architecture, from `config` (engine.model.from_hf_config); built once."""
        if self._spec is None:
            self._spec = from_hf_config(self.config, id=self.id, name=self.name or self.id)
        return self._spec

    @property
    def label(self) -> str:
        return self.name or self.id
