"""Citations (models/games/publication/citations.py): who is cited, in what proportion, and who is paid."""

from __future__ import annotations

import math

import torch
from helpers import learner, needs_cpp_compiler

from models.games import get_game
from models.games.publication.citations import count_citations, draw_citations
from models.games.publication.literature import Literature
from models.games.publication.params import PUBLICATION_PARAMS
from models.metrics import gini
from models.random import RandomStreams, world_keys
from models.simulate import build_batch, play, simulate


def literature_with(citations: list[int], places: int) -> Literature:
    """One world's literature whose first len(citations) places hold findings cited so many times."""
    literature = Literature.empty(1, places, torch.device("cpu"))
    filled = len(citations)
    literature.hypothesis[0, :filled] = torch.arange(filled)
    literature.citations[0, :filled] = torch.tensor(citations, dtype=torch.int32)
    return literature


def test_a_finding_is_cited_in_proportion_to_one_plus_bias_times_its_citations():
    """Preferential attachment (Price 1976): P(cite i) = (1 + b c_i) / sum_j (1 + b c_j), over the filled
    places only. 200,000 draws (one world, 20,000 citing studies x 10), each share within 4 standard
    errors; an empty place is never cited."""
    counts, bias = [0, 1, 4, 10], 0.5
    literature = literature_with(counts, places=6)
    rng = RandomStreams(world_keys([7]))
    citing = torch.ones(1, 20_000, dtype=torch.bool)
    made = draw_citations(rng, 0, literature, citing, 10, torch.tensor([[bias]]))
    assert made.place.numel() == 200_000
    observed = count_citations(literature, made)[0].double() / 200_000
    weights = torch.tensor([1 + bias * c for c in counts], dtype=torch.float64)
    expected = weights / weights.sum()
    assert observed[4:].sum() == 0
    for p, q in zip(observed[:4].tolist(), expected.tolist(), strict=True):
        assert abs(p - q) < 4 * math.sqrt(q * (1 - q) / 200_000), (p, q)


def test_no_citation_is_made_from_an_empty_literature_or_by_an_unpublished_study():
    rng = RandomStreams(world_keys([1, 2]))
    literature = Literature.empty(2, 5, torch.device("cpu"))
    literature.hypothesis[1, :2] = torch.tensor([0, 1])  # world 1 holds two findings, world 0 none
    citing = torch.tensor([[True, True, False], [True, False, True]])
    made = draw_citations(rng, 0, literature, citing, 3, torch.zeros(2, 1))
    assert made.world.tolist() == [1] * 6  # world 1's two published studies, three citations each
    assert set((made.place - 5).tolist()) <= {0, 1}


@needs_cpp_compiler
def test_fused_citations_are_the_eager_ones():
    """A fused batch's citations on the studies kernels (institution_kernels.cited_places: the search
    compiled without branches, within each world's places) are the rules' ones (torch.searchsorted over
    every world's cumulative weights), bit for bit: 60 worlds of 37 or
    64 places (a power of two: the search's last step reaches past the span), filled and cited at random,
    with a world that holds nothing, one that cites nothing and one whose findings are all uncited; and the
    cited findings' columns read with them."""
    from models import speed
    from models.games.publication.institution_kernels import cited_places

    gen = torch.Generator().manual_seed(3)
    for places in (37, 64):
        literature = Literature.empty(60, places, torch.device("cpu"))
        filled = torch.rand(60, places, generator=gen) < 0.8
        literature.hypothesis[filled] = 1
        literature.citations[:] = torch.randint(0, 9, (60, places), generator=gen, dtype=torch.int32)
        literature.hypothesis[7] = -1
        literature.citations[9] = 0
        literature.author[:] = torch.randint(0, 1000, (60, places), generator=gen)
        literature.true[:] = torch.rand(60, places, generator=gen) < 0.5
        citing = torch.rand(60, 50, generator=gen) < 0.5
        citing[5] = False
        bias = torch.rand(60, 1, generator=gen) * 2
        rng = RandomStreams(world_keys(list(range(60))))
        columns = ("true", "author")
        eager = draw_citations(rng, 2, literature, citing, 3, bias, columns)
        with speed.fusing():
            fused = draw_citations(rng, 2, literature, citing, 3, bias, columns, cited_places)
        assert speed.compiling_works()
        assert torch.equal(fused.place, eager.place) and torch.equal(fused.world, eager.world)
        for name in columns:
            column = getattr(literature, name).view(-1)
            assert torch.equal(fused.cited[name], column[eager.place]) and torch.equal(
                eager.cited[name], column[eager.place]
            )
        assert not ({5, 7} & set(eager.world.tolist())) and 9 in eager.world.tolist()


def test_gini_of_known_distributions():
    values = torch.tensor([[0.0, 0.0, 0.0, 1.0], [2.0, 2.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0], [0, 0, 0, 0]])
    assert torch.allclose(gini(values)[:3], torch.tensor([0.75, 0.0, 0.25]))
    assert gini(values)[3].isnan()  # nothing to share: undefined
    mask = torch.tensor([[False, False, True, True]] * 4)
    assert torch.allclose(gini(values, mask)[:3], torch.tensor([0.5, 0.0, 1 / 14]))


def test_each_citation_pays_its_findings_author_as_credit_for_the_action_that_produced_it():
    """In a round, the citation credit is citation_reward x the citations made; every citation goes to an
    author who holds a finding; and the tallies count the round's citations and those to false findings."""
    worlds = [
        PUBLICATION_PARAMS.resolve({"n_researchers": 30, "citations_per_paper": 3, "citation_reward": 0.25})
    ]
    batch = build_batch("publication", worlds * 3, {"researcher": learner("q_learning")}, [5, 6, 7])
    seen = 0
    for _ in range(15):
        literature_before = batch.engine.literature
        authors = literature_before.author.clone()
        filled = literature_before.hypothesis >= 0
        result = batch.round()
        tallies, credit = result.tallies, result.credit["researcher"]
        assert torch.equal(tallies.citations_made, (tallies.publications * 3 * filled.any(1)).int())
        positive = credit.amount[credit.amount > 0]  # confirmed_reward is 0: every positive entry a citation
        assert positive.numel() == int(tallies.citations_made.sum()) and (positive == 0.25).all()
        cited_authors = credit.agent[credit.amount > 0]
        cited_worlds = credit.world[credit.amount > 0]
        for w, a in zip(cited_worlds.tolist(), cited_authors.tolist(), strict=True):
            assert a in authors[w][filled[w]].tolist()
        assert (tallies.citations_to_false <= tallies.citations_made).all()
        seen += int(tallies.citations_made.sum())
    assert seen > 100


def test_citation_metrics_are_undefined_without_citations_and_bounded_with_them():
    learners = {"researcher": learner("q_learning")}
    names = [m.name for m in get_game("publication").metrics]
    plain = simulate(
        "publication", [PUBLICATION_PARAMS.resolve({"n_researchers": 20})] * 2, learners, [1, 2], 10
    )
    for name in ("citation_gini", "false_citation_share", "failed_citation_ratio", "funds_gini"):
        assert plain[..., names.index(name)].isnan().all(), name
    citing = PUBLICATION_PARAMS.resolve({"n_researchers": 20, "citations_per_paper": 2, "citation_bias": 2.0})
    series = simulate("publication", [citing] * 2, learners, [1, 2], 60)
    late = series[-1]
    for name in ("citation_gini", "false_citation_share"):
        values = late[:, names.index(name)]
        assert ((values >= 0) & (values <= 1)).all(), name
    assert (late[:, names.index("citation_gini")] > 0.2).all()


def test_preferential_attachment_concentrates_citations():
    """With b = 0 a finding's citations grow with its age only; with b = 5 the already-cited take most: the
    Gini coefficient of the literature's citations after 80 rounds is higher (8 worlds each, seeds 0-7)."""
    learners = {"researcher": learner("q_learning")}

    def final_gini(bias: float) -> float:
        world = PUBLICATION_PARAMS.resolve(
            {"n_researchers": 40, "citations_per_paper": 3, "citation_bias": bias}
        )
        tallies = play("publication", [world] * 8, learners, list(range(8)), 80)
        return float(tallies[-1].citation_gini.mean())

    assert final_gini(5.0) > final_gini(0.0) + 0.1
