"""OASIS Common Alerting Protocol 1.2 alerts as alarms.

An agency's system may post a CAP ``<alert>`` instead of our JSON. Mapping: ``identifier`` is
the agency's reference; the agency is the token's, never ``sender``; ``info/urgency`` and
``info/severity`` give the priority; ``info/parameter`` ``MAE_CATEGORY`` the category (and
optional ``MAE_AGE_BAND``/``MAE_SEX``/``MAE_CHILDREN``); the first ``info/area`` gives the
location: a ``circle``'s centre, a ``polygon``'s centroid, or a ``geocode`` place name
(valueName ``place``) resolved by the map's gazetteer, in that order; ``info/description`` is
the note. Only ``status`` Actual and ``msgType`` Alert are alarms. XML is parsed with
defusedxml, which refuses DTDs and entity expansion. The XML declaration's ``encoding`` must be
one we read (UTF-8, UTF-16, ASCII, Latin-1) and agree with the HTTP ``charset``; ``identifier``,
``sender`` and each ``references`` entry are limited to a safe character set (no ``../``), since
the identifier becomes part of the alarm's id and its URL.
"""

from __future__ import annotations

import codecs
import re
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from pydantic import ValidationError

from dispatch.model import Category, Priority, redact_personal_numbers
from web.errors import BadMessage
from web.schemas import SAFE_REFERENCE, AlarmIn, validation_errors

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
_SAFE = re.compile(SAFE_REFERENCE)
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']{0,40})["']""")
#: Encodings the XML parser reads, by their codec names (aliases are looked up).
_ENCODINGS = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be", "ascii", "iso8859-1"})
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
        from shapely.geometry import Polygon  # loads on the first polygon, not at start

        shape = Polygon([(lon, lat) for lat, lon in points])
        if shape.is_empty or shape.area == 0:
            raise BadMessage("info.area.polygon", "encloses no area")
        c = shape.centroid
        return {"lat": float(c.y), "lon": float(c.x)}
    for geocode in area.findall("cap:geocode", _NS):
        if _text(geocode, "cap:valueName", "info.area.geocode.valueName").lower() == "place":
            return {"place": _text(geocode, "cap:value", "info.area.geocode.value")}
    raise BadMessage("info.area", "give a circle, a polygon or a geocode with valueName 'place'")


def _codec(name: str, where: str) -> str:
    """The codec's canonical name for an encoding label, or :class:`BadMessage` naming it."""
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise BadMessage("encoding", f"{where} {name[:40]!r} is not a known encoding") from None
    canonical = codecs.lookup(info.name).name
    if canonical not in _ENCODINGS:
        raise BadMessage("encoding", f"{where} {name[:40]!r} is not supported; send UTF-8")
    return canonical


def _check_encoding(xml: bytes, charset: str | None) -> None:
    """The declared encoding (if any) is one we read and agrees with the HTTP charset."""
    head = xml[:400]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        head = head.decode("utf-16", errors="ignore").encode("ascii", errors="ignore")
    match = _DECLARED.match(head)
    declared = _codec(match.group(1).decode("ascii", "replace"), "the XML declaration's") \
        if match else None
    if charset:
        given = _codec(charset, "the Content-Type charset")
        family = {declared, given} <= {"utf-16", "utf-16-le", "utf-16-be"}
        if declared is not None and declared != given and not family:
            raise BadMessage("encoding", f"the XML declaration says {declared!r} but the "
                             f"Content-Type charset says {given!r}")


def _safe(value: str, field: str) -> str:
    if len(value) > 64 or not _SAFE.match(value):
        raise BadMessage(field, "must be at most 64 letters, digits or ._:@+- (no slashes, "
                         "not starting with a dot)")
    return value


def parse_cap(xml: bytes, *, charset: str | None = None) -> AlarmIn:
    """The alarm a CAP 1.2 alert describes, or :class:`BadMessage` naming the CAP element.
    ``charset`` is the HTTP Content-Type's, checked against the XML declaration."""
    _check_encoding(xml, charset)
    try:
        root = fromstring(xml)
    except DefusedXmlException:
        raise BadMessage("body", "XML with a DTD or entities is refused") from None
    except ParseError as exc:
        if "encoding" in str(exc):
            raise BadMessage("encoding", f"the body does not match its declared encoding "
                             f"({exc})") from None
        raise BadMessage("body", f"not well-formed XML ({exc})") from None
    except (ValueError, LookupError) as exc:  # a codec the parser cannot drive
        raise BadMessage("encoding", f"cannot be read ({exc})") from None
    if root.tag != f"{{{CAP_NS}}}alert":
        raise BadMessage("alert", f"the root element must be <alert xmlns=\"{CAP_NS}\">")
    reference = _safe(_text(root, "cap:identifier", "identifier"), "identifier")
    _safe(_text(root, "cap:sender", "sender", required=False) or "x", "sender")
    for n, entry in enumerate(_text(root, "cap:references", "references",
                                    required=False).split()):
        for part in entry.split(",")[:2]:  # sender,identifier,sent
            _safe(part, f"references[{n}]")
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
        # an agency's system cannot be asked to write it again: a personal number in the
        # description is taken out, and the acute alarm still reaches dispatch
        "note": redact_personal_numbers(
            _text(info, "cap:description", "info.description", required=False)),
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
