"""The entry adapter: a small map, learned from the glossary itself, that tells "describes X" from "mentions X".

A description of RMSNorm mentions LayerNorm, so dense chunks, BM25 and the contained-term vote
all lean towards LayerNorm. The adapter is trained at `index build` on pairs the corpus provides
for free: each entry's summary and definitional sentences with the entry's own term and aliases
masked ("A simpler variant of LayerNorm that rescales ... " -> rmsnorm), plus the term's names, so
what it learns is which entry a text *describes*. It is a linear map on the query vector
(initialised at the identity) and one vector per entry (initialised at its "term: summary"
embedding), trained with softmax cross-entropy over all entries. Nothing is downloaded; the
weights are a few hundred kilobytes of safetensors in the build folder, sealed by the manifest.

The retriever uses it only to reorder the top candidates of the hybrid ranking (see
`HybridRetriever`); coverage decisions keep using the raw cosines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from assistant.types import Entry

ADAPTER_FILE = "adapter.safetensors"
_DEFINING_SECTIONS = ("What it is", "Intuition", "Why it matters")
_MAX_SENTENCES = 8  # per entry: the first sentences of the defining sections carry the definition
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_CODE = re.compile(r"`([^`]*)`")


class AdapterInfo(BaseModel):
    """How the adapter in a build was trained (recorded in the manifest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    examples: int = Field(description="Training texts (masked summaries and sentences, names).")
    epochs: int
    seed: int
    members: int = Field(1, description="Training runs averaged into the adapter (1 in earlier builds).")
    temperature: float
    train_seconds: float
    train_accuracy: float = Field(description="Share of training texts whose own entry ranks first after training.")


@dataclass(frozen=True)
class AdapterConfig:
    epochs: int = 20
    seed: int = 0
    temperature: float = 0.05
    learning_rate: float = 3e-3
    l2: float = 1e-3  # pulls the map towards the identity and the entry vectors towards their summaries
    batch_size: int = 256  # 64 learned the same (dev hit@1 within one question) in 8x the time
    members: int = 5  # runs averaged into one adapter (see train_adapter)


def mask_names(text: str, entry: Entry, placeholder: str = "this") -> str:
    """`text` with the entry's term and aliases (and their plurals) replaced by `placeholder`.

    >>> from assistant.types import Entry
    >>> e = Entry(id="sae", term="Sparse autoencoder", aliases=("SAE",), section="s", summary="x", body="", path="p")
    >>> mask_names("An SAE is trained like other sparse autoencoders.", e)
    'An this is trained like other this.'
    """
    for name in sorted({entry.term, *entry.aliases}, key=len, reverse=True):
        text = re.sub(r"(?i)(?<![\w-])" + re.escape(name) + r"(?:s|es)?(?![\w-])", placeholder, text)
    return text


def _defining_sentences(body: str) -> list[str]:
    out: list[str] = []
    for part in re.split(r"^## ", body, flags=re.M):
        head, _, text = part.partition("\n")
        if head.strip() not in _DEFINING_SECTIONS:
            continue
        for sentence in _SENTENCE.split(_CODE.sub(r"\1", text).strip()):
            if 40 <= len(sentence) <= 400:
                out.append(" ".join(sentence.split()))
    return out[:_MAX_SENTENCES]


def training_examples(entries: Sequence[Entry]) -> list[tuple[str, int]]:
    """(text, index of its entry in `entries`) pairs, all made from the corpus itself.

    Masked texts teach "this description is entry j"; the unmasked names keep lookups by name
    where they were (the "term: summary" vectors join as examples in `train_adapter`, already
    embedded). Questions are covered by two templates around the summary.
    """
    pairs: list[tuple[str, int]] = []
    for j, entry in enumerate(entries):
        masked = mask_names(entry.summary, entry)
        pairs.append((masked, j))
        lowered = masked.rstrip(".")
        lowered = lowered[:1].lower() + lowered[1:]
        pairs.append((f"what is the name for {lowered}?", j))
        pairs.append((f"what do you call {lowered}?", j))
        pairs += [(mask_names(s, entry), j) for s in _defining_sentences(entry.body)]
        pairs += [(name, j) for name in sorted({entry.term, *entry.aliases})]
        pairs.append((f"what is {entry.term}?", j))
    return pairs


@dataclass(frozen=True)
class EntryAdapter:
    """query_map (dim x dim) and one unit vector per entry, in entries.jsonl order."""

    query_map: np.ndarray
    entries: np.ndarray
    temperature: float

    def probabilities(self, query_vector: np.ndarray) -> np.ndarray:
        """Softmax over entries of the adapted query's cosines (sums to 1)."""
        q = query_vector @ self.query_map
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        logits = (self.entries @ q) / self.temperature
        p = np.exp(logits - logits.max())
        return p / p.sum()

    def save(self, path: Path) -> None:
        """Write safetensors bytes through a Python file, so a full disk is an OSError naming the file."""
        from safetensors.numpy import save

        data = save(
            {
                "query_map": self.query_map,
                "entries": self.entries,
                "temperature": np.array([self.temperature], dtype=np.float32),
            }
        )
        with path.open("wb") as fh:
            fh.write(data)

    @classmethod
    def load(cls, path: Path, dim: int, n_entries: int) -> EntryAdapter:
        """Read the safetensors file (no pickle) and check its shapes.

        Raises:
            ValueError: the file's tensors do not have the expected names or shapes.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load

        try:
            tensors = load(path.read_bytes())
        except SafetensorError as exc:
            raise ValueError(f"{path.name} is not a safetensors file ({exc})") from None
        qmap, ent, temp = tensors.get("query_map"), tensors.get("entries"), tensors.get("temperature")
        if qmap is None or ent is None or temp is None:
            raise ValueError(f"{path.name} lacks query_map, entries or temperature")
        if qmap.shape != (dim, dim) or ent.shape != (n_entries, dim) or temp.shape != (1,):
            raise ValueError(
                f"{path.name} has shapes {qmap.shape}, {ent.shape}; expected ({dim}, {dim}), ({n_entries}, {dim})"
            )
        if not (np.isfinite(qmap).all() and np.isfinite(ent).all() and float(temp[0]) > 0):
            raise ValueError(f"{path.name} holds non-finite weights")
        return cls(qmap.astype(np.float32), ent.astype(np.float32), float(temp[0]))


def train_adapter(
    examples: np.ndarray,
    labels: np.ndarray,
    summaries: np.ndarray,
    config: AdapterConfig = AdapterConfig(),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[EntryAdapter, AdapterInfo]:
    """Fit the adapter on embedded examples (rows of `examples`, entry index in `labels`).

    `config.members` runs (seeds `seed`, `seed + 1`, ...) each end with the learning rate decayed
    linearly to zero, and their weights are averaged (a "model soup": all start from the same
    identity map and summaries). One run ending at full rate was a lottery: adding one alias to
    the corpus moved train accuracy from 0.99 to 0.93 and cost 33 of 1,764 questions at hit@1
    across the eval sets; with decay, single runs scored 1,561-1,575 and the soup of 5 scored 1,580.
    Deterministic for a given seed and thread count: seeded generators order the batches.
    """
    import torch

    started = time.perf_counter()
    # each entry's own "term: summary" vector is one more example of it
    x = torch.from_numpy(np.ascontiguousarray(np.vstack([examples, summaries]), dtype=np.float32))
    y = torch.from_numpy(np.concatenate([np.asarray(labels, dtype=np.int64), np.arange(len(summaries))]))
    base = torch.from_numpy(np.ascontiguousarray(summaries, dtype=np.float32))
    dim = x.shape[1]
    normalize = torch.nn.functional.normalize
    steps = config.epochs * -(-len(x) // config.batch_size)
    maps, entries = [], []
    for member in range(config.members):
        seed = config.seed + member
        torch.manual_seed(seed)
        order = torch.Generator().manual_seed(seed)
        delta_map = torch.nn.Parameter(torch.zeros(dim, dim))
        delta_entries = torch.nn.Parameter(torch.zeros_like(base))
        optimiser = torch.optim.Adam([delta_map, delta_entries], lr=config.learning_rate)
        decay = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: max(0.0, 1 - step / steps))

        def scores(rows: torch.Tensor, delta_map=delta_map, delta_entries=delta_entries) -> torch.Tensor:
            q = normalize(rows + rows @ delta_map, dim=1)
            return q @ normalize(base + delta_entries, dim=1).T / config.temperature

        for epoch in range(config.epochs):
            perm = torch.randperm(len(x), generator=order)
            for start in range(0, len(x), config.batch_size):
                idx = perm[start : start + config.batch_size]
                loss = torch.nn.functional.cross_entropy(scores(x[idx]), y[idx])
                loss = loss + config.l2 * (delta_map.pow(2).sum() + delta_entries.pow(2).sum())
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                decay.step()
            if progress:
                progress(member * config.epochs + epoch + 1, config.members * config.epochs)
        with torch.no_grad():
            maps.append(torch.eye(dim) + delta_map)
            entries.append(normalize(base + delta_entries, dim=1))
    with torch.no_grad():
        query_map = torch.stack(maps).mean(dim=0)
        entry_vectors = normalize(torch.stack(entries).mean(dim=0), dim=1)
        q = normalize(x @ query_map, dim=1)
        accuracy = float(((q @ entry_vectors.T).argmax(dim=1) == y).float().mean())
        adapter = EntryAdapter(
            query_map.numpy().astype(np.float32), entry_vectors.numpy().astype(np.float32), config.temperature
        )
    info = AdapterInfo(
        examples=len(x),
        epochs=config.epochs,
        seed=config.seed,
        members=config.members,
        temperature=config.temperature,
        train_seconds=round(time.perf_counter() - started, 2),
        train_accuracy=round(accuracy, 4),
    )
    return adapter, info
