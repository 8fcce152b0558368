// Words every MAE page uses for the same things: agencies, callout states, the connection.
// Importing this registers them; pages register their own texts after it, so a page's own key wins.
import { register } from "/static/lib/i18n.js";

export const VOCAB = {
  sv: {
    "conn.open": "Ansluten",
    "conn.closed": "Frånkopplad",
    "agency.police": "Polis",
    "agency.ambulance": "Ambulans",
    "agency.psychiatry": "Psykiatri",
    "agency.other": "Annan",
    "callout.waiting": "Väntar",
    "callout.assigned": "Tilldelad",
    "callout.acknowledged": "Kvitterad",
    "callout.en_route": "På väg",
    "callout.on_scene": "På plats",
    "callout.transporting": "Transport",
    "callout.closed": "Avslutad",
    "callout.cancelled": "Avbruten",
    "callout.merged": "Sammanslagen",
    "cancel.code.not_needed": "Behövs inte längre",
    "cancel.code.duplicate": "Dubblett",
    "cancel.code.other_agency": "Annan aktör tog hand om det",
    "cancel.code.patient_not_found": "Patienten hittades inte",
    "cancel.code.wrong_alarm": "Felaktigt larm",
    "cancel.code.other": "Annat",
  },
  en: {
    "conn.open": "Connected",
    "conn.closed": "Disconnected",
    "agency.police": "Police",
    "agency.ambulance": "Ambulance",
    "agency.psychiatry": "Psychiatry",
    "agency.other": "Other",
    "callout.waiting": "Waiting",
    "callout.assigned": "Assigned",
    "callout.acknowledged": "Acknowledged",
    "callout.en_route": "En route",
    "callout.on_scene": "On scene",
    "callout.transporting": "Transport",
    "callout.closed": "Closed",
    "callout.cancelled": "Cancelled",
    "callout.merged": "Merged",
    "cancel.code.not_needed": "No longer needed",
    "cancel.code.duplicate": "Duplicate",
    "cancel.code.other_agency": "Another agency handled it",
    "cancel.code.patient_not_found": "Patient not found",
    "cancel.code.wrong_alarm": "Wrong alarm",
    "cancel.code.other": "Other",
  },
};

/** Why a callout may be cancelled (dispatch.rules_incidents.CANCEL_CODES). */
export const CANCEL_CODES = ["not_needed", "duplicate", "other_agency", "patient_not_found", "wrong_alarm", "other"];

/** A cancel's reason as people read it: the code's words, then the dispatcher's own. */
export function cancelReason(t, ev) {
  const parts = [ev.code ? t(`cancel.code.${ev.code}`) : "", ev.reason || ""].filter(Boolean);
  return parts.join(": ") || "–";
}

register(VOCAB);
