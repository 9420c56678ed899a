"""The sources panel shows a fetched-source passage next to the entry that cites it: escaped
text, its section, and a link to the original taken from our own source metadata only."""

from __future__ import annotations

import pytest

from assistant.types import Answer, Citation, SourcePassage
from assistant.ui import views
from assistant.ui.catalog import Catalog
from tests.conftest import FIXTURE_CORPUS
from tests.ui.htmlcheck import problems
from tests.ui.payloads import payloads


@pytest.fixture(scope="module")
def catalog(fixture_corpus) -> Catalog:
    return Catalog.load(fixture_corpus.entries, fixture_corpus.sources, FIXTURE_CORPUS)


def _panel(catalog, passage: SourcePassage, entry_id: str = "activation-patching"):
    from assistant.ui.chat import Turn

    cite = Citation(n=1, entry_id=entry_id, term="Activation patching", url="", passages=(passage,))
    answer = Answer(
        question="q", standalone_query="q", answer="Patching finds heads [1].", citations=(cite,), covered=True
    )
    return views.panel([Turn(1, "q", answer=answer)], catalog)


def _passage(text: str, section: str = "3.2 Name mover heads", url: str = "javascript:alert(1)", title: str = "IOI"):
    return SourcePassage(
        rank=1,
        chunk_id="passage:ioi-paper#3",
        source_id="ioi-paper",
        title=title,
        section=section,
        text=text,
        url=url,
        entry_ids=("activation-patching",),
        score=0.1,
        dense_score=0.5,
    )


def test_the_passage_shows_with_its_section_and_a_link_to_the_original(catalog):
    html = _panel(catalog, _passage("Name mover heads copy the name."))
    assert "Name mover heads copy the name." in html and "3.2 Name mover heads" in html
    original = catalog.sources["ioi-paper"].url
    assert f'href="{original}"' in html  # our url for the source, never the passage's own
    assert "javascript:" not in html
    assert problems(html, external_ok=frozenset(s.url for s in catalog.sources.values())) == []


def test_a_passage_of_a_source_the_entry_does_not_link_is_not_shown(catalog):
    html = _panel(catalog, _passage("Unrelated text."), entry_id="tokenization")
    assert "Unrelated text." not in html


@pytest.mark.parametrize("payload", payloads("http://127.0.0.2:9"))
def test_payloads_in_passage_text_section_and_title_stay_inert(catalog, payload):
    html = _panel(catalog, _passage(payload, section=payload, title=payload))
    assert problems(html, external_ok=frozenset(s.url for s in catalog.sources.values())) == []
    assert "127.0.0.2" not in "".join(a for a in html.split('"') if a.startswith("http"))


def test_without_passages_the_panel_is_as_before(catalog):
    from assistant.ui.chat import Turn

    cite = Citation(n=1, entry_id="activation-patching", term="Activation patching", url="")
    answer = Answer(question="q", standalone_query="q", answer="x [1].", citations=(cite,), covered=True)
    assert "source-passage" not in views.panel([Turn(1, "q", answer=answer)], catalog)
