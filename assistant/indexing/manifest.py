"""The index manifest and file checksums.

The manifest is the only file read before checksums are verified, and it is parsed by pydantic
with `extra="forbid"`; every other file is hashed and compared first, so a flipped byte or a
truncated file is caught before FAISS, numpy or json ever sees it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class ChunkingInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_tokens: int
    tokenizer: str


class IndexManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = Field(description="Layout version of the build folder.")
    created_utc: str
    package_version: str
    library_versions: dict[str, str]
    embedder_id: str
    dim: int
    normalized: bool = True
    metric: str = "inner_product"
    chunking: ChunkingInfo
    corpus_fingerprint: str
    corpus_files: dict[str, str] = Field(description="Corpus file (relative) -> sha256 at build time.")
    n_chunks: int
    n_entries: int
    files: dict[str, str] = Field(description="Build file (relative) -> sha256.")
    sizes: dict[str, int] = Field(description="Build file (relative) -> size in bytes.")

    @property
    def fingerprint(self) -> str:
        return self.corpus_fingerprint[:12]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
