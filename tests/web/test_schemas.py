"""The message models' errors name fields as a client does (web/schemas.py)."""

from __future__ import annotations

import math

import pytest

from web.errors import BadMessage
from web.schemas import CREW_MESSAGES, field_name, parse_message


@pytest.mark.parametrize("bad_id", ["x" * 100, math.nan, -1])
def test_a_bad_message_id_is_named_id_not_by_pydantics_steps(bad_id: object) -> None:
    """An audit saw ``id.constrained-str``: pydantic's name of a step of the id's type."""
    with pytest.raises(BadMessage) as refused:
        parse_message({"type": "ping", "id": bad_id}, CREW_MESSAGES)
    assert refused.value.field == "id"
    assert {e["field"] for e in refused.value.errors} == {"id"}


def test_field_names_keep_list_positions_and_drop_only_pydantics_steps() -> None:
    assert field_name(("location", "lat")) == "location.lat"
    assert field_name(("stops", 2, "function-after[check(), str]")) == "stops.2"
    assert field_name(("id", "constrained-int")) == "id"
