"""Bundled catalogs (models, GPUs, servers, prices), the user's overrides and local Hugging Face
configs. Imports engine only."""

from .errors import CatalogError, Problem, UnknownEntry
from .loader import Catalog, ModelEntry, default_user_dir, load_catalog

__all__ = ["Catalog", "CatalogError", "ModelEntry", "Problem", "UnknownEntry", "default_user_dir", "load_catalog"]
