// The service's errors in the reader's language. Every JSON error carries a machine code
// ({error, field, message}: web/errors.py); its English message is for integrators and is never
// shown. The words come from the code, with the field it names, and a refused value's problem
// from its reason code ({reason}: personal_number, unit_on_callout...) where it has one. An
// unknown code gets a general text with the code, so it can still be reported.
import { register, t } from "./i18n.js";

export const ERROR_TEXTS = {
  sv: {
    "error.unauthorized": "okänd eller återkallad nyckel",
    "error.forbidden": "din roll får inte göra det här",
    "error.too_many_failed_logins": "För många felaktiga inloggningar. Vänta en minut.",
    "error.too_many_requests": "För många förfrågningar. Vänta en stund och försök igen.",
    "error.busy": "Tjänsten är tillfälligt upptagen. Ingenting ändrades; försök igen om en stund.",
    "error.invalid_request": "saknas eller har fel form.",
    "error.invalid_message": "saknas eller har fel form.",
    "error.invalid_command": "värdet godtas inte.",
    "error.invalid_command.callout_id": "går inte med uppdraget i dess nuvarande läge.",
    "error.invalid_command.unit_id": "går inte med enheten i dess nuvarande läge.",
    "error.unknown_place": "platsen finns inte på kartan.",
    "error.invalid_transition": "går inte i uppdragets eller enhetens nuvarande läge (någon hann kanske före).",
    "error.unknown_unit": "enheten finns inte.",
    "error.unknown_callout": "uppdraget finns inte.",
    "error.unknown_alarm": "larmet finns inte.",
    "error.unknown_principal": "användaren finns inte.",
    "error.no_route": "ingen väg når dit.",
    "error.rejected": "Begäran avvisades av tjänstens regler.",
    "error.internal": "Ett fel i tjänsten. Ingenting ändrades; försök igen.",
    "error.network": "Ingen kontakt med tjänsten. Försök igen när anslutningen är tillbaka.",
    "error.too_large": "Begäran är för stor.",
    "error.unknown": "Begäran avvisades (kod {code}).",
    "reason.personal_number": "innehåller ett personnummer – ta bort det (identiteten lämnas per telefon).",
    "reason.personal_number_ref": "ser ut som ett personnummer – använd en pseudonym.",
    "reason.unit_on_callout": "enheten är på ett uppdrag.",
    "reason.shift_ended": "enhetens pass är slut.",
    "reason.off_duty": "enheten är inte i tjänst: börja passet först.",
    "reason.outcome_first": "registrera utfallet för uppdraget först.",
    "reason.no_callout": "enheten har inget uppdrag.",
    "reason.before_earliest": "är före den tidigaste starten.",
    "reason.passed": "tiden har redan passerat.",
    "field.location": "Plats",
    "field.priority": "Prioritet",
    "field.category": "Kategori",
    "field.patient": "Patient",
    "field.note": "Meddelande",
    "field.text": "Text",
    "field.reference": "Referens",
    "field.callback": "Nummer att ringa",
    "field.unit_id": "Enhet",
    "field.callout_id": "Uppdrag",
    "field.alarm_id": "Larm",
    "field.visit_id": "Besök",
    "field.facility": "Mottagning",
    "field.code": "Orsak",
    "field.reason": "Orsak",
    "field.status": "Status",
    "field.kind": "Utfall",
    "field.date": "Dag",
    "field.month": "Månad",
    "field.q": "Sökord",
    "field.crew": "Besättning",
    "field.follow_up_at": "Uppföljning",
    "field.window": "Tidsfönster",
    "field.earliest_start": "Tidigast",
    "field.latest_start": "Senast",
    "field.duration_min": "Längd",
    "field.patient_ref": "Patientreferens",
    "field.staff": "Antal personal",
    "field.competences": "Kompetens",
    "field.postpone_cost_min": "Kostnad för att flytta",
    "field.token": "Token",
    "field.name": "Uppspelningslogg",
  },
  en: {
    "error.unauthorized": "unknown or revoked token",
    "error.forbidden": "your role may not do this",
    "error.too_many_failed_logins": "Too many wrong logins. Wait a minute.",
    "error.too_many_requests": "Too many requests. Wait a moment and try again.",
    "error.busy": "The service is busy for a moment. Nothing changed; try again shortly.",
    "error.invalid_request": "is missing or has the wrong form.",
    "error.invalid_message": "is missing or has the wrong form.",
    "error.invalid_command": "the value is not accepted.",
    "error.invalid_command.callout_id": "not possible with the callout as it is now.",
    "error.invalid_command.unit_id": "not possible with the unit as it is now.",
    "error.unknown_place": "the place is not on the map.",
    "error.invalid_transition": "not possible in the callout's or unit's current state (someone may have been first).",
    "error.unknown_unit": "no such unit.",
    "error.unknown_callout": "no such callout.",
    "error.unknown_alarm": "no such alarm.",
    "error.unknown_principal": "no such user.",
    "error.no_route": "no road reaches it.",
    "error.rejected": "The request was refused by the service's rules.",
    "error.internal": "A fault in the service. Nothing changed; try again.",
    "error.network": "No contact with the service. Try again when the connection is back.",
    "error.too_large": "The request is too large.",
    "error.unknown": "The request was refused (code {code}).",
    "reason.personal_number": "holds a personal number – remove it (give the identity by phone).",
    "reason.personal_number_ref": "looks like a personal number – use a pseudonym.",
    "reason.unit_on_callout": "the unit is on a callout.",
    "reason.shift_ended": "the unit's shift has ended.",
    "reason.off_duty": "the unit is off duty: start the shift first.",
    "reason.outcome_first": "record the callout's outcome first.",
    "reason.no_callout": "the unit has no callout.",
    "reason.before_earliest": "is before the earliest start.",
    "reason.passed": "that time has passed.",
    "field.location": "Location",
    "field.priority": "Priority",
    "field.category": "Category",
    "field.patient": "Patient",
    "field.note": "Message",
    "field.text": "Text",
    "field.reference": "Reference",
    "field.callback": "Number to call",
    "field.unit_id": "Unit",
    "field.callout_id": "Callout",
    "field.alarm_id": "Alarm",
    "field.visit_id": "Visit",
    "field.facility": "Facility",
    "field.code": "Reason",
    "field.reason": "Reason",
    "field.status": "Status",
    "field.kind": "Outcome",
    "field.date": "Day",
    "field.month": "Month",
    "field.q": "Search words",
    "field.crew": "Crew",
    "field.follow_up_at": "Follow-up",
    "field.window": "Time window",
    "field.earliest_start": "Earliest",
    "field.latest_start": "Latest",
    "field.duration_min": "Duration",
    "field.patient_ref": "Patient reference",
    "field.staff": "Staff needed",
    "field.competences": "Competence",
    "field.postpone_cost_min": "Cost of moving it",
    "field.token": "Token",
    "field.name": "Replay log",
  },
};

register(ERROR_TEXTS);

// Codes that mean the same to a reader.
const SAME = {
  storage_unavailable: "busy", database_locked: "busy", store_conflict: "busy",
  http_413: "too_large", http_400: "invalid_request",
};
// Codes whose words complete a field's name ("Plats: platsen finns inte på kartan.").
const ABOUT_A_FIELD = new Set(["invalid_request", "invalid_message", "invalid_command", "unknown_place",
  "invalid_transition", "unknown_unit", "unknown_callout", "unknown_alarm", "unknown_principal", "no_route"]);

/** The code of an error: an ApiError's ``code``, a socket reply's ``error`` (a network
 * failure: "network"); "" when it has none. */
export function errorCode(err) {
  if (!err) return "";
  if (err.status === 0) return "network";
  const code = err.code || err.error || (err.body && err.body.error) || "";
  return SAME[code] || code;
}

/** The label of a server field name ("location.place" → "Plats"), or "" when not known. */
export function fieldLabel(field) {
  if (!field) return "";
  for (let name = String(field); name; name = name.includes(".") ? name.slice(0, name.lastIndexOf(".")) : "") {
    const key = `field.${name}`;
    const text = t(key);
    if (text !== key) return text;
  }
  return "";
}

/** ``err``'s ``key`` in a socket reply, or in an ApiError's body. */
function detail(err, key) {
  if (!err) return "";
  const v = err instanceof Error ? (err.body ? err.body[key] : undefined) : err[key];
  return typeof v === "string" ? v : "";
}

/** The words for what the error's code says (about its field, when there are words for the
 * two together; for a refused value, its reason's words when it has a reason), without the
 * field's name. */
export function codeText(err) {
  const code = errorCode(err);
  const reason = code === "invalid_command" ? detail(err, "reason") : "";
  if (reason && t(`reason.${reason}`) !== `reason.${reason}`) return t(`reason.${reason}`);
  const field = err && err.field ? String(err.field) : "";
  const pair = `error.${code}.${field}`;
  if (code && field && t(pair) !== pair) return t(pair);
  const key = `error.${code}`;
  const text = code ? t(key) : key;
  return text !== key ? text : t("error.unknown", { code: code || (err && err.status) || "?" });
}

/** A refused request or socket reply (ApiError, or {error, field, message}) as one sentence in
 * the page's language, naming the field when the server named one. */
export function errorText(err) {
  const code = errorCode(err);
  const words = codeText(err);
  const label = fieldLabel(err && err.field);
  if (!ABOUT_A_FIELD.has(code)) return words;
  const sentence = words.charAt(0).toUpperCase() + words.slice(1);
  return label ? `${label}: ${words}` : sentence;
}
