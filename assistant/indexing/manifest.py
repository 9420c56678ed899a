"""The index manifest and file checksums.

The manifest is the only file read before checksums are verified, and it is parsed by pydantic
with `extra="forbid"`; every other file is hashed and compared first, so a flipped byte or a
truncated file is caught before FAISS, numpy or json ever sees it. The manifest seals itself:
`manifest_sha256` is the sha256 of the file's exact bytes with that value zeroed, so an edit
that keeps the JSON valid (a date, a count, a corpus hash) is caught too.
"""

from __future__ import annotations

import hashlib
import re

from pydantic import BaseModel, ConfigDict, Field

from assistant.indexing.adapter import AdapterInfo

SCHEMA_VERSION = 2  # 2: manifest_sha256 seal
_UNSEALED = "0" * 64
_SEAL_RE = re.compile(rb'"manifest_sha256": "([0-9a-f]{64})"')


class ChunkingInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_tokens: int
    tokenizer: str


class PassageTierInfo(BaseModel):
    """The second tier: passages of fetched source texts (absent when nothing was fetched)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    n_chunks: int
    index_type: str = Field(description="FAISS index of the tier: flat, hnsw or ivf.")
    index_choice: str = Field(description="Why this index type (setting and the figures behind it).")
    sources: dict[str, str] = Field(description="Source id -> sha256 of the fetched bytes its text came from.")
    text_sha256: dict[str, str] = Field(description="Source id -> sha256 of the extracted text indexed.")


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
    adapter: AdapterInfo | None = Field(None, description="How the entry adapter was trained; None: no adapter.")
    passages: PassageTierInfo | None = Field(None, description="Fetched-source passages; None: none were fetched.")
    files: dict[str, str] = Field(description="Build file (relative) -> sha256.")
    sizes: dict[str, int] = Field(description="Build file (relative) -> size in bytes.")
    manifest_sha256: str = Field(default=_UNSEALED, description="sha256 of this file with this value zeroed.")

    @property
    def fingerprint(self) -> str:
        return self.corpus_fingerprint[:12]


def seal_manifest_bytes(raw: bytes) -> bytes:
    """Set `manifest_sha256` in serialized manifest JSON (which must contain the field once)."""
    found = list(_SEAL_RE.finditer(raw))
    if len(found) != 1:
        raise ValueError("manifest JSON must contain exactly one manifest_sha256 field")
    start, end = found[0].span(1)
    zeroed = raw[:start] + _UNSEALED.encode() + raw[end:]
    return raw[:start] + hashlib.sha256(zeroed).hexdigest().encode() + raw[end:]


def seal_manifest(manifest: IndexManifest) -> bytes:
    """The manifest as sealed JSON bytes, ready to write."""
    raw = manifest.model_copy(update={"manifest_sha256": _UNSEALED}).model_dump_json(indent=1).encode()
    return seal_manifest_bytes(raw)


def seal_ok(raw: bytes) -> bool:
    """True if the exact bytes match their own `manifest_sha256`."""
    found = list(_SEAL_RE.finditer(raw))
    if len(found) != 1:
        return False
    start, end = found[0].span(1)
    zeroed = raw[:start] + _UNSEALED.encode() + raw[end:]
    return hashlib.sha256(zeroed).hexdigest().encode() == found[0].group(1)
