"""Apply an LLM card extractor to stored models: log every interaction, update card facts, re-score."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from whichmodel.cards.llm import Interaction, LlmCardExtractor, as_record
from whichmodel.store.blobs import pack, unpack
from whichmodel.store.ingest import score_pending
from whichmodel.store.models import CardRow, FactsRow, LlmInteraction, ModelRow, Observation
from whichmodel.store.records import card_texts, load_zdicts

M, O, F, C, LI = (t.__table__ for t in (ModelRow, Observation, FactsRow, CardRow, LlmInteraction))  # noqa: E741


def interaction_logger(engine: Engine) -> Callable[[Interaction], None]:
    """A logger that writes each interaction at once (a crash later loses none)."""

    def log(interaction: Interaction) -> None:
        with engine.begin() as conn:
            conn.execute(insert(LI).values(**as_record(interaction)))

    return log


def extract_with_llm(
    engine: Engine,
    make_extractor: Callable[[Callable[[Interaction], None]], LlmCardExtractor],
    model_ids: list[str] | None = None,
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Run the LLM over the newest card of each model not yet read from that card; re-score what changed."""
    extractor = make_extractor(interaction_logger(engine))
    done = select(LI.c.model_id, LI.c.card_hash).where(LI.c.status == "ok", LI.c.purpose == "card_facts")
    query = (
        select(M.c.id, O.c.id, O.c.card_hash)
        .join(O, O.c.id == M.c.latest_observation_id)
        .join(C, C.c.hash == O.c.card_hash)
        .order_by(M.c.downloads.desc(), M.c.id)
    )
    if model_ids:
        query = query.where(M.c.id.in_(model_ids))
    with engine.connect() as conn:
        already = {tuple(r) for r in conn.execute(done)}
        todo = [r for r in conn.execute(query) if (r[0], r[2]) not in already]
    if limit is not None:
        todo = todo[:limit]
    counts = {"models": len(todo), "extracted": 0, "not_available": 0}
    for model_id, obs_id, card_hash in todo:
        with engine.connect() as conn:
            text = card_texts(conn, [card_hash])[card_hash]
        card = extractor.extract(model_id, text, card_hash)
        if card is None:
            counts["not_available"] += 1
        else:
            with engine.begin() as conn:
                # The facts row is shared by every observation of this content: all of them get the card's facts.
                facts_id, zid, data = conn.execute(
                    select(F.c.id, F.c.zdict, F.c.data).join(O, O.c.facts_id == F.c.id).where(O.c.id == obs_id)
                ).one()
                zdict = load_zdicts(conn, [zid]).get(zid)
                lasting = unpack(data, zdict)
                lasting["card"] = card.to_dict()
                conn.execute(update(F).where(F.c.id == facts_id).values(data=pack(lasting, zdict)))
                conn.execute(update(O).where(O.c.facts_id == facts_id).values(scored_version=None))
            counts["extracted"] += 1
        if progress:
            progress(1)
    counts["rescored"] = score_pending(engine)
    return counts
