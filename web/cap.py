"""OASIS Common Alerting Protocol 1.2 alerts as alarms.

An agency's system may post a CAP ``<alert>`` instead of our JSON. Mapping: ``identifier`` is
the agency's reference; the agency is the token's, never ``sender``; ``info/urgency`` and
``info/severity`` give the priority; ``info/parameter`` ``MAE_CATEGORY`` the category (and
optional ``MAE_AGE_BAND``/``MAE_SEX``/``MAE_CHILDREN``); the first ``info/area`` gives the
location: a ``circle``'s centre, a ``polygon``'s centroid, or a ``geocode`` place name
(valueName ``place``) resolved by the map's gazetteer, in that order; ``info/description`` is
the note. Only ``status`` Actual and ``msgType`` Alert are alarms. XML is parsed with
defusedxml, which refuses DTDs and entity expansion.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from pydantic import ValidationError
from shapely.geometry import Polygon

from dispatch.model import Category, Priority
from web.errors import BadMessage
from web.schemas import AlarmIn, validation_errors

__all__ = ["CAP_NS", "parse_cap", "priority_of"]

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
_NS = {"cap": CAP_NS}

#: Our names of AlarmIn fields, as CAP names them (for error messages).
_CAP_FIELD = {
    "reference": "identifier",
    "note": "info.description",
    "category": "info.parameter.MAE_CATEGORY",
    "priority": "info.urgency",
    "location": "info.area",
    "location.place": "info.area.geocode",
    "patient.age_band": "info.parameter.MAE_AGE_BAND",
    "patient.sex": "info.parameter.MAE_SEX",
    "patient.children": "info.parameter.MAE_CHILDREN",
}
_URGENCIES = ("Immediate", "Expected", "Future", "Past", "Unknown")
_SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")


def priority_of(urgency: str, severity: str) -> Priority:
    """Acute when immediate and (extreme or severe); urgent when immediate or expected, or
    extreme or severe; otherwise non-urgent."""
    grave = severity in ("Extreme", "Severe")
    soon = urgency in ("Immediate", "Expected")
    if urgency == "Immediate" and grave:
        return Priority.ACUTE
    if soon or grave:
        return Priority.URGENT
    return Priority.NON_URGENT


def _text(parent: Element, path: str, field: str, *, required: bool = True) -> str:
    node = parent.find(path, _NS)
    value = (node.text or "").strip() if node is not None else ""
    if required and not value:
        raise BadMessage(field, "is missing or empty")
    return value


def _pairs(text: str, field: str) -> list[tuple[float, float]]:
    points = []
    for pair in text.split():
        try:
            lat_s, lon_s = pair.split(",")
            points.append((float(lat_s), float(lon_s)))
        except ValueError:
            raise BadMessage(field, f"{pair[:40]!r} is not 'lat,lon'") from None
    return points


def _location(area: Element) -> dict[str, Any]:
    circle = _text(area, "cap:circle", "info.area.circle", required=False)
    if circle:
        centre, _, _radius = circle.partition(" ")
        (lat, lon), = _pairs(centre, "info.area.circle")
        return {"lat": lat, "lon": lon}
    polygon = _text(area, "cap:polygon", "info.area.polygon", required=False)
    if polygon:
        points = _pairs(polygon, "info.area.polygon")
        if len(points) < 4 or points[0] != points[-1]:
            raise BadMessage("info.area.polygon", "needs at least 4 points, the first repeated "
                             "as the last")
        shape = Polygon([(lon, lat) for lat, lon in points])
        if shape.is_empty or shape.area == 0:
            raise BadMessage("info.area.polygon", "encloses no area")
        c = shape.centroid
        return {"lat": float(c.y), "lon": float(c.x)}
    for geocode in area.findall("cap:geocode", _NS):
        if _text(geocode, "cap:valueName", "info.area.geocode.valueName").lower() == "place":
            return {"place": _text(geocode, "cap:value", "info.area.geocode.value")}
    raise BadMessage("info.area", "give a circle, a polygon or a geocode with valueName 'place'")


def parse_cap(xml: bytes) -> AlarmIn:
    """The alarm a CAP 1.2 alert describes, or :class:`BadMessage` naming the CAP element."""
    try:
        root = fromstring(xml)
    except DefusedXmlException:
        raise BadMessage("body", "XML with a DTD or entities is refused") from None
    except (ParseError, ValueError) as exc:
        raise BadMessage("body", f"not well-formed XML ({exc})") from None
    if root.tag != f"{{{CAP_NS}}}alert":
        raise BadMessage("alert", f"the root element must be <alert xmlns=\"{CAP_NS}\">")
    reference = _text(root, "cap:identifier", "identifier")
    status = _text(root, "cap:status", "status")
    if status != "Actual":
        raise BadMessage("status", f"only Actual alerts are alarms, not {status[:20]!r}")
    msg_type = _text(root, "cap:msgType", "msgType")
    if msg_type != "Alert":
        raise BadMessage("msgType", f"only Alert messages are alarms, not {msg_type[:20]!r}")
    info = root.find("cap:info", _NS)
    if info is None:
        raise BadMessage("info", "is missing")
    urgency = _text(info, "cap:urgency", "info.urgency")
    severity = _text(info, "cap:severity", "info.severity")
    if urgency not in _URGENCIES:
        raise BadMessage("info.urgency", f"must be one of {', '.join(_URGENCIES)}")
    if severity not in _SEVERITIES:
        raise BadMessage("info.severity", f"must be one of {', '.join(_SEVERITIES)}")
    params: dict[str, str] = {}
    for p in info.findall("cap:parameter", _NS):
        name = _text(p, "cap:valueName", "info.parameter.valueName")
        params[name.upper()] = _text(p, "cap:value", f"info.parameter.{name[:30]}")
    area = info.find("cap:area", _NS)
    if area is None:
        raise BadMessage("info.area", "is missing: the alarm needs a location")
    data: dict[str, Any] = {
        "reference": reference,
        "priority": int(priority_of(urgency, severity)),
        "category": params.get("MAE_CATEGORY", Category.OTHER.value),
        "location": _location(area),
        "note": _text(info, "cap:description", "info.description", required=False),
        "patient": {k: params[p] for k, p in (("age_band", "MAE_AGE_BAND"), ("sex", "MAE_SEX"),
                                              ("children", "MAE_CHILDREN")) if p in params},
    }
    try:
        return AlarmIn.model_validate(data)
    except ValidationError as exc:
        errors = validation_errors(exc)
        for e in errors:
            e["field"] = _CAP_FIELD.get(e["field"], _CAP_FIELD.get(
                e["field"].split(".")[0], e["field"]))
        raise BadMessage(errors[0]["field"], errors[0]["message"], errors=errors) from None
