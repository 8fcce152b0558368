"""Place-name lookup: the forms people type find the place; unknown names get suggestions."""

from __future__ import annotations

import pytest

from maps.errors import UnknownPlace
from maps.gazetteer import Gazetteer, normalise_name
from maps.graph import Facility, Place

PLACES = [
    Place(name="Luleå", lat=65.584, lon=22.154, node=0, population=48_728),
    Place(name="Jokkmokk", lat=66.607, lon=19.823, node=1, population=2_786,
          alt_names=("Jåhkåmåhkke", "Dálvvadis")),
    Place(name="Gällivare", lat=67.134, lon=20.659, node=2, population=8_123,
          alt_names=("Jiellevárre", "Jällivaara")),
]
FACILITIES = [Facility(name="Gällivare sjukhus", kind="hospital", lat=67.14, lon=20.66, node=2)]


def test_normalise_ignores_case_diacritics_and_dashes() -> None:
    assert normalise_name("  JÅHKÅMÅHKKE ") == "jahkamahkke"
    assert normalise_name("Övre  Soppero–by") == "ovre soppero by"


def test_find_by_any_name_form() -> None:
    gaz = Gazetteer(PLACES, FACILITIES)
    assert gaz.find("lulea").name == "Luleå"
    assert gaz.find("Jåhkåmåhkke").name == "Jokkmokk"
    assert gaz.find("jiellevarre").name == "Gällivare"
    assert gaz.find("gällivare sjukhus").name == "Gällivare sjukhus"
    assert "LULEÅ" in gaz


def test_town_name_wins_over_facility_named_after_it() -> None:
    facs = [Facility(name="Jokkmokk", kind="mae_base", lat=66.6, lon=19.8, node=1)]
    found = Gazetteer(PLACES, facs).find("Jokkmokk")
    assert isinstance(found, Place)


def test_unknown_name_suggests_the_closest() -> None:
    gaz = Gazetteer(PLACES, FACILITIES)
    with pytest.raises(UnknownPlace) as info:
        gaz.find("Jokmok")
    assert info.value.suggestions[0] == "Jokkmokk"
    assert "did you mean Jokkmokk" in str(info.value)


def test_unknown_name_without_anything_close() -> None:
    with pytest.raises(UnknownPlace, match=r"unknown place 'Xyzzy'$"):
        Gazetteer(PLACES).find("Xyzzy")


def test_a_near_miss_suggests_each_place_once_by_its_own_name() -> None:
    """Luleå's other spellings (Lulea, Luleju, Julevu, Luulaja) are found, but a near miss
    suggests the place as it is called, once, not three spellings of one town."""
    from maps.bundled import load_bundled

    gaz = Gazetteer.of(load_bundled())
    assert gaz.find("Lulea") is gaz.find("Luleå")
    for typed in ("Lulee", "Luleaa", "Luleju2"):
        with pytest.raises(UnknownPlace) as info:
            gaz.find(typed)
        names = info.value.suggestions
        assert names[0] == "Luleå" and len(names) == len(set(names)), names
        assert not {"Lulea", "Luleju", "Julevu", "Luulaja"} & set(names), names
