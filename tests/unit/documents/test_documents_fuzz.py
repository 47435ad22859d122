"""Arbitrary Unicode in free-text fields: a FieldError or a two-page PDF, nothing else."""

from __future__ import annotations

from documents_data import car_data, with_changes
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from backend.documents import TemplateDataError, render_document
from backend.documents.catalog import CAR_PURCHASE

FREE_TEXT = {  # path → the longest value the template accepts
    "buyer.name": 30,
    "buyer.address": 60,
    "vehicle.model": 60,
    "dealer.name": 40,
    "dealer.address": 60,
}

# mostly characters a contract can print (Latin, CJK, punctuation), sometimes anything
plausible_chars = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x24F, exclude_categories=["Cc"]),
    st.characters(min_codepoint=0x3000, max_codepoint=0x303F),
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
    st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),
)
any_chars = st.characters(codec="utf-8")


def field_text(max_length: int) -> st.SearchStrategy[str]:
    fits = st.text(plausible_chars, min_size=2, max_size=max_length)
    return st.one_of(
        fits,
        fits,
        fits,
        st.text(plausible_chars, min_size=max_length - 2, max_size=max_length + 2),
        st.text(any_chars, max_size=max_length),
    )


changes = st.lists(
    st.one_of([st.tuples(st.just(path), field_text(n)) for path, n in FREE_TEXT.items()]),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(changes=changes, signer=st.text(plausible_chars, min_size=2, max_size=30) | field_text(30))
def test_free_text_is_rejected_or_rendered(changes: list[tuple[str, str]], signer: str) -> None:
    data = with_changes(car_data(), **dict(changes))
    try:
        cleaned = CAR_PURCHASE.validate(data)
    except TemplateDataError as error:
        assert error.errors
        assert {e.path for e in error.errors} <= set(FREE_TEXT)
        return
    try:
        document = render_document(
            CAR_PURCHASE, cleaned, document_number="SL-1", signers={"buyer": signer}
        )
    except TemplateDataError as error:
        assert [e.path for e in error.errors] == ["signers.buyer"]
        return
    event("rendered")
    assert document.page_count == 2
    assert all(slot.page == 1 for slot in document.slots)
