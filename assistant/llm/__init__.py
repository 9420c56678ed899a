"""Chat-model back ends and the one place that picks between them.

`make_chat_model(settings)` is the composition root: `kind: "local"` runs a pinned (or given)
GGUF with llama.cpp in a supervised child process (`llm/worker.py`: a native crash ends only
that process), `kind: "openai"` talks to any OpenAI-compatible server. The back
end modules are imported inside the factory, so `import assistant.llm` stays cheap (no
llama_cpp, no httpx). Compromise: a typo'd profile or a missing model surfaces when the model is
built, not when settings are parsed.
"""

from __future__ import annotations

from assistant.errors import BackendUnavailable
from assistant.llm.base import ChatModel
from assistant.llm.gguf import Progress
from assistant.settings import LocalLLMSettings, OpenAILLMSettings, Settings

__all__ = ["ChatModel", "make_chat_model"]


def make_chat_model(settings: Settings, progress: Progress | None = None) -> ChatModel:
    """Build the chat model the settings ask for.

    For `kind: "local"` without `model_path` the pinned GGUF of `settings.llm.profile` is
    assembled (first run) or verified in `settings.paths.cache_dir`; `progress(done, total)`
    is called with bytes while that happens.

    Example:
        >>> model = make_chat_model(Settings(llm=LocalLLMSettings(profile="fast")))
        >>> model.model_id
        'Qwen2.5-Coder-0.5B-Instruct-Q4_K_M'

    Raises:
        BackendUnavailable: the back end cannot be built (missing packages, bad model file).
    """
    llm = settings.llm
    if isinstance(llm, LocalLLMSettings):
        from assistant.llm.gguf import ensure_gguf, pinned_model
        from assistant.llm.local import check_installed
        from assistant.llm.worker import ProcessChatModel

        check_installed()  # fail here, with the install command, before starting a process
        if llm.model_path is not None:
            return ProcessChatModel(llm.model_path, llm)
        path = ensure_gguf(llm.profile, settings.paths.cache_dir, progress)
        return ProcessChatModel(path, llm, model_id=pinned_model(llm.profile).model_id)
    if isinstance(llm, OpenAILLMSettings):
        from assistant.llm.openai_compat import OpenAICompatChatModel

        return OpenAICompatChatModel(llm)
    raise BackendUnavailable(  # unreachable while settings validate `kind`
        f"unknown chat back end {getattr(llm, 'kind', llm)!r}",
        "set MI_GLOSSARY_LLM__KIND to 'local' or 'openai'",
    )
