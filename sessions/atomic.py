"""Kept for imports written before the writer moved to catalogs.files."""

from catalogs.files import atomic_write_bytes, atomic_write_text, fsync_dir  # noqa: F401
