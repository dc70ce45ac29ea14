"""Card chunking, embeddings that match sentence-transformers, and hybrid search with filters and citations."""

import json
from pathlib import Path

import numpy as np
import pytest
from factories import RICH_CARD, wire
from whichmodel.cards.chunking import MAX_TOKENS, chunk_card
from whichmodel.cards.embedding import MiniLM, read_safetensors
from whichmodel.cli.main import main
from whichmodel.config import Settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def minilm(tmp_path_factory):
    return MiniLM(tmp_path_factory.mktemp("models"))


def test_vectors_match_sentence_transformers(minilm):
    """Reference vectors were computed once with sentence-transformers (torch, CPU) and stored."""
    reference = json.loads((FIXTURES / "minilm_reference.json").read_text())
    ours = minilm.embed(reference["texts"])
    theirs = np.array(reference["vectors"], dtype=np.float32)
    cosine = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
    assert cosine.min() > 0.9999, cosine
    assert minilm.count_tokens(reference["texts"][-1]) > 256, "the long text really exercises truncation at 256"


def test_padding_per_batch_does_not_change_vectors(minilm):
    texts = ["short", "a much longer sentence about a model fine-tuned for support tickets and refunds"]
    together = minilm.embed(texts)
    alone = np.vstack([minilm.embed([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_numpy_safetensors_reader_matches_the_header(minilm):
    from whichmodel.cards.embedding import model_dir

    tensors = read_safetensors(model_dir() / "model.safetensors")
    assert tensors["embeddings.word_embeddings.weight"].shape == (30522, 384)
    assert tensors["encoder.layer.5.output.dense.weight"].dtype == np.float32


def test_chunks_fit_the_model_and_ids_are_stable(minilm):
    long_section = "## Training\n\n" + "\n\n".join(f"Paragraph {i}. " + "The model learns. " * 60 for i in range(6))
    card = RICH_CARD + long_section + "\n\n## Blob\n\n" + "x" * 5000 + "\n"
    chunks = chunk_card("acme/widget-7b", card, minilm.count_tokens)
    assert all(minilm.count_tokens(c.text) <= MAX_TOKENS + 2 for c in chunks)
    sections = [c.section for c in chunks]
    assert sections[0] == "metadata" and "Limitations" in sections and sections.count("Training") > 1
    assert "license: apache-2.0" in chunks[0].text
    again = chunk_card("acme/widget-7b", card, minilm.count_tokens)
    assert [c.id for c in again] == [c.id for c in chunks]
    edited = chunk_card("acme/widget-7b", card.replace("Accuracy 71.2", "Accuracy 73.0"), minilm.count_tokens)
    changed = {c.id for c in edited} ^ {c.id for c in chunks}
    assert len(changed) == 2, "only the edited section's chunk changes"


def _snapshot(tmp_path, name, models):
    from test_snapshot_faults import write_snapshot

    lines = [(json.dumps(wire(**m["record"])) + "\n").encode() for m in models]
    cards = [{"id": m["record"]["id"], "readme": m["card"]} for m in models if m.get("card")]
    return write_snapshot(tmp_path / name, lines, cards, observed=name)


MODELS = [
    {"record": {"id": "acme/support-7b"}, "card": RICH_CARD},
    {"record": {"id": "paint/anime-diffusion", "pipeline_tag": "text-to-image", "cardData": {"license": "openrail"},
                "tags": ["license:openrail"]},
     "card": "---\nlicense: openrail\n---\n# Anime diffusion\n\nGenerates anime style illustrations from text "
             "prompts. Fine-tuned from stable diffusion 2.1 on hand-drawn frames.\n"},
    {"record": {"id": "lab/sql-coder-7b", "cardData": {"license": "cc-by-nc-4.0"}, "tags": ["license:cc-by-nc-4.0"]},
     "card": "---\nlicense: cc-by-nc-4.0\ndatasets:\n- zz-lab/spider-sql-2k\n---\n# SQL coder\n\n"
             "Translates natural language questions into SQL queries over relational databases.\n"},
]  # fmt: skip


@pytest.fixture
def indexed(tmp_path, monkeypatch, db_url):
    """Three models ingested with their cards, in a new database of the engine under test."""
    home = tmp_path / "home"
    snap = _snapshot(tmp_path, "2025-05-01", MODELS)
    assert main(["--home", str(home), "ingest", "--snapshot", str(snap)]) == 0
    return home, tmp_path


def _search(home, *argv):
    from io import StringIO
    from unittest import mock

    with mock.patch("sys.stdout", new=StringIO()) as out:
        code = main(["--home", str(home), "cards", "search", *argv, "--json"])
    return code, json.loads(out.getvalue())


def test_search_cites_model_and_section(indexed):
    home, _ = indexed
    code, data = _search(home, "which model writes SQL from questions", "--k", "3")
    assert code == 0
    first = data["results"][0]
    assert set(first) >= {"model_id", "section", "snippet", "score"}
    assert first["model_id"] == "lab/sql-coder-7b"
    _, data = _search(home, "anime illustrations", "--k", "1")
    assert data["results"][0]["model_id"] == "paint/anime-diffusion"


def test_keyword_search_finds_exact_ids_and_license_strings(indexed):
    home, _ = indexed
    _, data = _search(home, "zz-lab/spider-sql-2k", "--k", "1")
    assert data["results"][0]["model_id"] == "lab/sql-coder-7b" and "keyword" in data["results"][0]["matched"]
    _, data = _search(home, "cc-by-nc-4.0", "--k", "1")
    assert data["results"][0]["model_id"] == "lab/sql-coder-7b"


def test_filters_restrict_results(indexed):
    home, _ = indexed
    _, data = _search(home, "fine-tuned model", "--task", "text-to-image")
    assert {r["model_id"] for r in data["results"]} == {"paint/anime-diffusion"}
    _, data = _search(home, "fine-tuned model", "--license-class", "non-commercial")
    assert {r["model_id"] for r in data["results"]} == {"lab/sql-coder-7b"}
    _, data = _search(home, "fine-tuned model", "--size", "7b", "--license-class", "permissive")
    assert {r["model_id"] for r in data["results"]} == {"acme/support-7b"}


def test_filters_follow_a_changed_license_without_re_embedding(indexed, capsys):
    """Filters are index tokens as well as columns: a model whose license changes is found under the new
    class and no longer under the old one, though its card (and so its chunks) did not change."""
    home, tmp_path = indexed
    relicensed = dict(MODELS[2], record={**MODELS[2]["record"], "cardData": {"license": "apache-2.0"},
                                         "tags": ["license:apache-2.0"]})  # fmt: skip
    snap = _snapshot(tmp_path, "2025-05-03", [MODELS[0], MODELS[1], relicensed])
    capsys.readouterr()
    assert main(["--home", str(home), "ingest", "--snapshot", str(snap), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cards"]["chunks_embedded"] == 0
    _, data = _search(home, "SQL queries", "--license-class", "non-commercial")
    assert data["results"] == []
    _, data = _search(home, "SQL queries", "--license-class", "permissive")
    assert data["results"][0]["model_id"] == "lab/sql-coder-7b"


def test_a_keyword_index_from_before_the_facets_column_is_rebuilt_on_open(indexed, db_kind):
    import sqlite3

    from whichmodel.store.keywords import FILTER_KEYS
    from whichmodel.store.vectors import CardFilters, CardIndex

    if db_kind != "sqlite":
        pytest.skip("the FTS5 file exists only beside an SQLite store")
    home, _ = indexed
    path = home / "cards_fts.db"
    with sqlite3.connect(path) as conn:  # as an earlier version wrote it
        rows = conn.execute(f"SELECT text, section, model_id, id, {', '.join(FILTER_KEYS)} FROM chunks").fetchall()
        conn.execute("DROP TABLE chunks")
        conn.execute("CREATE VIRTUAL TABLE chunks USING fts5(text, section, model_id, id UNINDEXED, "
                     "pipeline_tag UNINDEXED, license_class UNINDEXED, size_class UNINDEXED)")  # fmt: skip
        conn.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("DROP TABLE chunk_filters")  # nor the filter values by chunk id
    index = CardIndex(Settings(home=home))
    assert index.count() == len(rows)
    hits = index.keyword_hits("fine tuned model", CardFilters(task="text-to-image"), 10)
    assert {model for _, model, _, _ in hits} == {"paint/anime-diffusion"}
    images = {r[3] for r in rows if r[4] == "text-to-image"}
    assert images and index.keywords.passing_among([r[3] for r in rows], CardFilters(task="text-to-image")) == images


def test_a_postgresql_keyword_table_keeps_its_documents_in_the_rows(indexed, db_kind):
    """Ranking reads every matching document: it is stored in the row (MAIN) and the text leaves it instead; a
    table written before that setting is converted when opened, with the same hits."""
    from whichmodel.store.keywords import PostgresKeywordIndex
    from whichmodel.store.vectors import CardFilters, CardIndex

    if db_kind != "postgresql":
        pytest.skip("the keyword table exists only in a PostgreSQL store")
    home, _ = indexed
    index = CardIndex(Settings.from_env(home=home))
    engine = index.keywords.engine
    storage = ("SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'card_chunks'::regclass "
               "AND attname IN ('document', 'text')")  # fmt: skip
    with engine.begin() as conn:
        assert dict(conn.exec_driver_sql(storage).all()) == {"document": "m", "text": "x"}
        conn.exec_driver_sql("ALTER TABLE card_chunks ALTER COLUMN document SET STORAGE EXTENDED")  # as before
    before = index.keywords.hits("fine tuned model for sql", CardFilters(), 10)
    assert before
    reopened = PostgresKeywordIndex(engine)
    with engine.connect() as conn:
        assert dict(conn.exec_driver_sql(storage).all()) == {"document": "m", "text": "x"}
    assert reopened.hits("fine tuned model for sql", CardFilters(), 10) == before


def test_a_selective_filter_ranks_exactly_the_chunks_that_pass(indexed, monkeypatch):
    """When the unfiltered nearest chunks hold too few that pass, the chunks that pass are ranked directly."""
    from whichmodel.store import vectors as store_vectors
    from whichmodel.store.vectors import CardFilters, CardIndex

    home, _ = indexed
    index = CardIndex(Settings.from_env(home=home))
    monkeypatch.setattr(store_vectors, "OVERFETCH", 1)  # the nearest chunk alone is looked at first
    calls = []
    backend = type(index.keywords)  # the SQLite file or the PostgreSQL table, whichever this engine uses
    real = backend.passing_ids
    monkeypatch.setattr(backend, "passing_ids", lambda self, *a: calls.append(a) or real(self, *a))
    hits = index.vector_hits("answers from a knowledge base for support teams", CardFilters(task="text-to-image"), 1)
    assert [meta["model_id"] for _, meta, _, _ in hits] == ["paint/anime-diffusion"]
    assert calls, "the subset path ran"
    monkeypatch.setattr(store_vectors, "SUBSET_MAX", 0)  # too many pass: Chroma's own filter, same answer
    again = index.vector_hits("answers from a knowledge base for support teams", CardFilters(task="text-to-image"), 1)
    assert [h[0] for h in again] == [h[0] for h in hits]
    assert index.vector_hits("anything", CardFilters(task="no-such-task"), 3) == []


def test_a_filter_few_nearest_chunks_pass_looks_deeper_and_ranks_like_brute_force(indexed, monkeypatch):
    """When the first look holds some but too few passing chunks, a deeper unfiltered look is filtered by id.

    The expected ranking is computed here from every stored vector (cosine distance, then the metadata
    filter), and neither Chroma's metadata filter nor the by-id subset query may run.
    """
    from whichmodel.store import vectors as store_vectors
    from whichmodel.store.vectors import CardFilters, CardIndex

    home, _ = indexed
    index = CardIndex(Settings.from_env(home=home))
    stored = index.collection.get(include=["embeddings", "metadatas"])
    query = "a model that answers support questions and writes SQL"
    vector = np.asarray(index.function.embed_query([query])[0])
    distance = {i: 1.0 - float(np.dot(e, vector) / np.linalg.norm(e) / np.linalg.norm(vector))
                for i, e in zip(stored["ids"], stored["embeddings"], strict=True)}  # fmt: skip
    meta = dict(zip(stored["ids"], stored["metadatas"], strict=True))
    nearest = sorted(distance, key=distance.get)
    # A filter and an n for which the n nearest chunks hold at least one, but fewer than n, that pass.
    case = next(
        (lc, n) for lc in sorted({m["license_class"] for m in meta.values()}) for n in range(2, 8)
        if 0 < sum(meta[i]["license_class"] == lc for i in nearest[:n]) < n
        and sum(m["license_class"] == lc for m in meta.values()) >= n
    )  # fmt: skip
    license_class, n = case
    expected = [i for i in nearest if meta[i]["license_class"] == license_class][:n]
    monkeypatch.setattr(store_vectors, "OVERFETCH", 1)
    monkeypatch.setattr(store_vectors, "DEEP_OVERFETCH", len(nearest))  # the deeper look sees every chunk
    asked = []
    real_query = index.collection.query
    monkeypatch.setattr(index.collection, "query", lambda **kw: asked.append(kw) or real_query(**kw))
    monkeypatch.setattr(index, "_passing_ids", lambda *a: pytest.fail("the subset path ran"))
    hits = index.vector_hits(query, CardFilters(license_class=license_class), n)
    assert [h[0] for h in hits] == expected
    assert [kw["n_results"] for kw in asked] == [n, len(nearest) * n]
    assert not any("where" in kw or "ids" in kw for kw in asked), "no metadata filter, no id list"
    assert all(h[1] == meta[h[0]] and h[1]["license_class"] == license_class for h in hits)
    assert [round(h[3], 4) for h in hits] == [round(distance[i], 4) for i in expected]


def test_reingest_embeds_only_changed_chunks_and_removes_stale(indexed, capsys):
    home, tmp_path = indexed
    changed = [dict(MODELS[0], card=RICH_CARD.replace("Accuracy 71.2", "Accuracy 74.9")),
               dict(MODELS[1], card=None), MODELS[2]]  # fmt: skip
    snap = _snapshot(tmp_path, "2025-05-02", changed)
    capsys.readouterr()
    assert main(["--home", str(home), "ingest", "--snapshot", str(snap), "--json"]) == 0
    cards = json.loads(capsys.readouterr().out)["cards"]
    assert cards["chunks_embedded"] == 1, "one edited section"
    assert cards["chunks_removed"] >= 2, "the edited section's old chunk and the vanished card's chunks"
    _, data = _search(home, "anime illustrations", "--k", "5")
    assert "paint/anime-diffusion" not in {r["model_id"] for r in data["results"]}
    _, data = _search(home, "Accuracy 74.9", "--k", "1")
    assert data["results"][0]["model_id"] == "acme/support-7b"


def test_collection_reopens_with_the_registered_embedding_function(indexed):
    import chromadb

    home, _ = indexed
    import whichmodel.store.vectors  # noqa: F401  (registers the function, as every whichmodel process does)
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(Settings(home=home).chroma_path),
        settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False),
    )
    collection = client.get_collection("cards")
    result = collection.query(query_texts=["SQL"], n_results=1)
    assert result["metadatas"][0][0]["model_id"] == "lab/sql-coder-7b"
    meta = result["metadatas"][0][0]
    assert meta["license_class"] == "non-commercial" and "overall" in meta and "security" in meta


def test_real_cards_from_the_shared_snapshots(tmp_path, shared_data, db_url):
    """A slice of real cards, indexed and searched: answers name models whose cards say so."""
    from whichmodel.hub.snapshot import Parsed, open_snapshot, read_snapshot
    from whichmodel.store.db import engine_for
    from whichmodel.store.ingest import ingest_items, score_pending
    from whichmodel.store.vectors import CardFilters, CardIndex

    snap = open_snapshot(shared_data / "hub-snapshots" / "2025-04-22")
    wanted = {"juliajoanna/sd2-1-flintstones-model", "bigscience/bloom", "teddy-f-47/phi-pl-2_7B-v_0_1"}
    items = [i for n, i in enumerate(read_snapshot(snap)) if isinstance(i, Parsed) and (n < 40 or i.facts.id in wanted)]
    settings = Settings.from_env(home=tmp_path / "real")
    engine = engine_for(settings)
    ingest_items(engine, iter(items), source="slice", kind="snapshot", observed_at=snap.observed_at)
    score_pending(engine)
    index = CardIndex(settings)
    summary = index.sync(engine)
    assert summary.chunks_embedded == index.count() > 100
    assert index.search("Flintstones cartoon style images", k=1)[0]["model_id"] == "juliajoanna/sd2-1-flintstones-model"
    assert index.search("phi-2 for the Polish language", k=1)[0]["model_id"] == "teddy-f-47/phi-pl-2_7B-v_0_1"
    hits = index.search("bigscience-bloom-rail-1.0", k=3)
    assert "bigscience/bloom" in {h["model_id"] for h in hits}
    text_to_image = index.search("model", CardFilters(task="text-to-image"), k=10)
    assert text_to_image and all(h["model_id"] != "bigscience/bloom" for h in text_to_image)


def test_the_card_index_opens_once_when_requests_race(indexed):
    """A page load runs several handlers at once; each may be the first to need the card index."""
    import threading

    from whichmodel.store.db import engine_for
    from whichmodel.tools import Services

    home, _ = indexed
    settings = Settings.from_env(home=home)
    services = Services(engine_for(settings), settings)
    barrier, errors, found = threading.Barrier(6), [], []

    def search():
        barrier.wait()
        try:
            found.append(services.cards.search("SQL", k=1)[0]["model_id"])
        except Exception as err:  # collected, so the assertion shows what went wrong
            errors.append(repr(err))

    threads = [threading.Thread(target=search) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and found == ["lab/sql-coder-7b"] * 6


@pytest.fixture
def chroma_server(tmp_path):
    from servers import ChromaServer

    server = ChromaServer(tmp_path / "chroma-server")
    yield server
    server.stop()


def test_a_chroma_server_gives_the_same_card_search_as_the_folder(indexed, chroma_server, new_db_url, monkeypatch):
    """The same snapshot ingested once with vectors in the data folder and once on a `chroma run` server."""
    from whichmodel.store.vectors import CardFilters, CardIndex

    home, tmp_path = indexed
    queries = [("which model writes SQL from questions", CardFilters()), ("anime illustrations", CardFilters()),
               ("fine-tuned model", CardFilters(task="text-to-image")),
               ("answers for support teams", CardFilters(license_class="permissive"))]  # fmt: skip
    folder = [CardIndex(Settings.from_env(home=home)).search(q, f, k=5) for q, f in queries]

    if "WHICHMODEL_DATABASE_URL" in __import__("os").environ:  # a PostgreSQL store: a database of its own
        monkeypatch.setenv("WHICHMODEL_DATABASE_URL", new_db_url("served"))
    monkeypatch.setenv("WHICHMODEL_CHROMA_HOST", chroma_server.host)
    served_home = tmp_path / "served-home"
    snap = tmp_path / "2025-05-01"
    assert main(["--home", str(served_home), "ingest", "--snapshot", str(snap)]) == 0
    assert not (served_home / "chroma").exists(), "vectors went to the server, not a folder"
    index = CardIndex(Settings.from_env(home=served_home))
    assert index.collection.count() == index.count() > 0
    served = [index.search(q, f, k=5) for q, f in queries]
    assert served == folder
    assert folder[0][0]["model_id"] == "lab/sql-coder-7b"


def test_postgresql_keyword_ranking_prunes_to_the_same_chunks_as_ranking_every_match(new_db_url, db_kind, monkeypatch):
    """The keyword query ranks the chunks with two query words or one in the heading, then the short ones that
    can still reach the n-th rank (`PostgresKeywordIndex._best`): the same chunks in the same order as ranking
    every match, for short and long chunks, heading words, filters, one to nine words; an older table gets the
    indexes this needs from revision 0012."""
    import random

    from sqlalchemy import text
    from whichmodel.store import keywords
    from whichmodel.store.db import head_revision, make_engine
    from whichmodel.store.keywords import PRUNE_MAX_WORDS, PostgresKeywordIndex, words
    from whichmodel.store.vectors import CardFilters

    if db_kind != "postgresql":
        pytest.skip("the keyword table exists only in a PostgreSQL store (SQLite's FTS5 ranks with BM25)")
    monkeypatch.setattr(keywords, "PRUNE_MIN_CHUNKS", 1000)  # the 3,000 chunks here are pruned like 100k
    url = new_db_url("prune")
    engine = make_engine(url)
    index = PostgresKeywordIndex(engine)
    rng = random.Random(7)
    lexicon = ["llama", "fine", "tuned", "license", "chat", "legal", "medical", "sql", "code", "anime"] + [
        f"w{i}" for i in range(400)
    ]
    entries = []
    for i in range(3000):
        # Mostly long chunks, some of one to five words (one query word there outranks two in a long chunk),
        # and query words in some model ids and section titles.
        short = i % 10 == 0
        length = rng.choice([1, 2, 3, 5]) if short else rng.randint(30, 90)
        model = f"org/{rng.choice(lexicon[:10]) if i % 15 == 0 else 'm'}-{i // 5}"
        section = rng.choice(lexicon[:10]) if i % 20 == 0 else "usage"
        meta = {"model_id": model, "section": section, "pipeline_tag": "text-generation",
                "license_class": rng.choice(["permissive", "custom"]),
                "size_class": rng.choice(["7B", "13B"])}  # fmt: skip
        text_words = rng.choices(lexicon[:20] if short else lexicon, k=length)
        entries.append((f"c{i:05d}", " ".join(text_words), meta))
    index.add(entries)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE card_chunks")

    def every_match(query: str, filters: CardFilters, n: int) -> list[str]:
        conds, args = index._filter_sql(filters)
        any_word = " | ".join(f"'{w}'" for w in dict.fromkeys(words(query)))
        rank = "ts_rank('{0.25, 0, 0.5, 1.0}'::float4[], document, to_tsquery('simple', :any_word), 1)"
        where = " AND ".join(["document @@ to_tsquery('simple', :any_word)", *conds])
        with engine.connect() as conn:
            sql = f"SELECT id FROM card_chunks WHERE {where} ORDER BY {rank} DESC, id LIMIT :n"
            return list(conn.execute(text(sql), {**args, "any_word": any_word, "n": n}).scalars())

    queries = ["llama", "legal code", "medical chat model", "llama fine tuned license", "w11 w12 w13 w14 w15",
               " ".join(lexicon[: PRUNE_MAX_WORDS + 1]), "nothingmatches"]  # fmt: skip
    pruned = 0
    for query in queries:
        for filters in (CardFilters(), CardFilters(license_class="permissive", size_class="7B")):
            for n in (5, 20):
                expected = every_match(query, filters, n)
                assert [h[0] for h in index.hits(query, filters, n)] == expected, (query, filters, n)
                found = list(dict.fromkeys(words(query)))
                conds, args = index._filter_sql(filters)
                args |= {"any_word": " | ".join(f"'{w}'" for w in found), "n": n}
                with engine.connect() as conn:
                    index._best(conn, found, conds, args)
                pruned += "top_ids" in args
    assert pruned >= 8  # the pruned path answered most of them (the rest ranked every match)
    short = {e[0] for e in entries if len(e[1].split()) <= 5}
    assert short & {h[0] for q in queries for h in index.hits(q, CardFilters(), 20)}  # short chunks do rank high

    names = ("ix_card_chunks_heading", "ix_card_chunks_lexemes")
    with engine.begin() as conn:  # a table from before revision 0012
        for name in names:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0011'")
    engine.dispose()
    upgraded = make_engine(url)
    with upgraded.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == head_revision()
        have = set(conn.exec_driver_sql("SELECT indexname FROM pg_indexes WHERE tablename = 'card_chunks'").scalars())
    assert set(names) <= have
    upgraded.dispose()
