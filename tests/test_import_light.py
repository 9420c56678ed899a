"""`import assistant` and `mi-glossary --help` must not pull torch, faiss or gradio."""

import subprocess
import sys

HEAVY = ("torch", "faiss", "gradio", "sentence_transformers", "langchain_core", "llama_cpp")


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nsys.stderr.write('MODS:' + ' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stderr.split("MODS:")[-1].split())


def test_import_assistant_is_light():
    assert _loaded_after("import assistant, assistant.settings, assistant.errors, assistant.types") == set()


def test_cli_help_is_light():
    code = (
        "import sys\nsys.argv=['mi-glossary','--help']\nfrom assistant.cli import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert _loaded_after(code) == set()


def test_cli_help_runs():
    out = subprocess.run([sys.executable, "-m", "assistant.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("search", "corpus", "index"):
        assert command in out.stdout


def test_public_api_is_lazy():
    code = (
        "import sys, assistant\nassert 'assistant.factory' not in sys.modules\n"
        "from assistant import Settings, open_assistant\nassert callable(open_assistant) and Settings().retrieval.k"
    )
    assert _loaded_after(code) == set()
