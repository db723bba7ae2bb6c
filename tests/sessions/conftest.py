"""Fixtures for the session tests: a small stand-in for catalogs.loader.Catalog (same lookups,
same error contract), used until and beside the real one."""

from __future__ import annotations

import difflib

from engine.hardware import GpuSpec, PriceSpec, ServerSpec
from engine.model import ModelSpec, from_hf_config

LLAMA_8B = {
    "model_type": "llama",
    "num_hidden_layers": 32,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
}


class UnknownEntry(KeyError, ValueError):
    def __init__(self, kind: str, id: str, known: list[str]):
        hint = difflib.get_close_matches(id, known, n=1)
        self.message = f"unknown {kind} '{id}'" + (f" (did you mean {hint[0]}?)" if hint else "")
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


import pytest

from sessions import example_text


class FakeCatalog:
    def __init__(self) -> None:
        self.models: dict[str, ModelSpec] = {
            "llama-3.1-8b": from_hf_config(LLAMA_8B, id="llama-3.1-8b"),
            "llama-3.1-70b": from_hf_config(
                {**LLAMA_8B, "num_hidden_layers": 80, "hidden_size": 8192, "intermediate_size": 28672,
                 "num_attention_heads": 64},
                id="llama-3.1-70b",
            ),
        }
        self.gpus = {
            "h100-sxm-80gb": GpuSpec(id="h100-sxm-80gb", memory_gib=79.2, tdp_w=700),
            "a100-sxm-80gb": GpuSpec(id="a100-sxm-80gb", memory_gib=79.2, tdp_w=400),
        }
        self.servers = {
            "dgx-h100": ServerSpec(id="dgx-h100", gpu="h100-sxm-80gb", gpus_per_node=8, max_power_kw=10.2),
            "box-4": ServerSpec(id="box-4", gpus_per_node=4),
        }
        self.prices = {
            "lambda-h100": PriceSpec(id="lambda-h100", provider="Lambda", gpu="h100-sxm-80gb", price_per_gpu_hour=2.99),
            "aws-a100": PriceSpec(id="aws-a100", provider="AWS", gpu="a100-sxm-80gb", price_per_gpu_hour=4.1),
        }

    def _get(self, table: dict, kind: str, id: str):
        if id not in table:
            raise UnknownEntry(kind, id, list(table))
        return table[id]

    def model(self, id: str) -> ModelSpec:
        return self._get(self.models, "model", id)

    def gpu(self, id: str) -> GpuSpec:
        return self._get(self.gpus, "gpu", id)

    def server(self, id: str) -> ServerSpec:
        return self._get(self.servers, "server", id)


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def default_text() -> str:
    return example_text("default")
