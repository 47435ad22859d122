"""Fixtures: realistic car purchase data and one shared render of it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from documents_data import DOCUMENT_NUMBER, SIGNERS, car_data

from backend.documents import RenderedDocument, get_template, render_document
from backend.documents.catalog import CAR_PURCHASE, ContractTemplate


@pytest.fixture
def data() -> dict[str, object]:
    return car_data()


@pytest.fixture(scope="session")
def template() -> ContractTemplate:
    found = get_template("car-purchase")
    assert found is CAR_PURCHASE
    return found


@pytest.fixture(scope="session")
def render() -> Callable[..., RenderedDocument]:
    def _render(data: dict[str, object], **signers: str) -> RenderedDocument:
        cleaned = CAR_PURCHASE.validate(data)
        return render_document(
            CAR_PURCHASE,
            cleaned,
            document_number=DOCUMENT_NUMBER,
            signers=signers or SIGNERS,
        )

    return _render


@pytest.fixture(scope="session")
def rendered(render: Callable[..., RenderedDocument]) -> RenderedDocument:
    return render(car_data())
