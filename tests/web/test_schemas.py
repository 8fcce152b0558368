"""The message models' errors name fields as a client does (web/schemas.py)."""

from __future__ import annotations

import math

import pytest

from web.errors import BadMessage
from web.schemas import AGENCY_MESSAGES, CREW_MESSAGES, field_name, parse_message


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


ALARM = {"type": "alarm", "reference": "r1", "location": {"lat": 65.58, "lon": 22.15},
         "priority": 1, "category": "other"}


def test_an_alarm_with_numbers_and_flags_as_json_types_is_taken() -> None:
    msg = parse_message({**ALARM, "location": {"lat": 65, "lon": 22}, "police_on_scene": True},
                        AGENCY_MESSAGES)
    assert msg.priority == 1 and msg.location.lat == 65.0  # type: ignore[attr-defined]


@pytest.mark.parametrize(("change", "field"), [
    ({"priority": "1"}, "priority"),
    ({"priority": True}, "priority"),
    ({"priority": 1.5}, "priority"),
    ({"police_on_scene": "yes"}, "police_on_scene"),
    ({"ambulance_on_scene": 1}, "ambulance_on_scene"),
    ({"location": {"lat": "65.58", "lon": 22.15}}, "location.lat"),
])
def test_text_for_a_number_or_a_flag_is_refused_naming_the_field(
        change: dict[str, object], field: str) -> None:
    """An audit saw ``"priority": "1"`` and ``"yes"`` for a flag taken by pydantic's lax mode:
    a client's mistake that would otherwise pass unnoticed."""
    with pytest.raises(BadMessage) as refused:
        parse_message({**ALARM, **change}, AGENCY_MESSAGES)
    assert refused.value.field == field


@pytest.mark.parametrize(("change", "field"), [
    ({"lat": "65.5"}, "lat"), ({"lon": True}, "lon")])
def test_a_crew_position_as_text_is_refused(change: dict[str, object], field: str) -> None:
    with pytest.raises(BadMessage) as refused:
        parse_message({"type": "position", "lat": 65.5, "lon": 22.1, **change}, CREW_MESSAGES)
    assert refused.value.field == field
