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
    "category.suicide_risk": "Suicidrisk",
    "category.psychosis": "Psykos",
    "category.agitation_violence_risk": "Agitation / våldsrisk",
    "category.intoxication_psychiatric": "Berusning med psykiatrisk problematik",
    "category.worried_relative": "Orolig anhörig",
    "category.follow_up_request": "Begäran om uppföljning",
    "category.other": "Övrigt",
    "outcome.stayed_home": "Stannade hemma",
    "outcome.transported_mae": "Transport med MAE",
    "outcome.transported_ambulance": "Transport med ambulans",
    "outcome.transported_police": "Transport med polis",
    "outcome.admitted_voluntary": "Inlagd frivilligt",
    "outcome.compulsory_care_lpt": "Tvångsvård (LPT)",
    "outcome.referred_primary_care": "Hänvisad till primärvården",
    "outcome.referred_social_services": "Hänvisad till socialtjänsten",
    "outcome.no_patient_contact": "Ingen patientkontakt",
    "plan.cause.day start": "dagens start",
    "plan.cause.visits changed": "besök ändrade",
    "plan.cause.units changed": "enheter ändrade",
    "plan.cause.unit taken": "enhet tagen till akut uppdrag",
    "plan.cause.visit running long": "besök drar över",
    "plan.cause.re-plan": "ny planering",
    "road.number": "väg {n}",
    "map.zoom_in": "Zooma in",
    "map.zoom_out": "Zooma ut",
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
    "category.suicide_risk": "Suicide risk",
    "category.psychosis": "Psychosis",
    "category.agitation_violence_risk": "Agitation / violence risk",
    "category.intoxication_psychiatric": "Intoxication with psychiatric problems",
    "category.worried_relative": "Worried relative",
    "category.follow_up_request": "Follow-up request",
    "category.other": "Other",
    "outcome.stayed_home": "Stayed at home",
    "outcome.transported_mae": "Transported by MAE",
    "outcome.transported_ambulance": "Transported by ambulance",
    "outcome.transported_police": "Transported by police",
    "outcome.admitted_voluntary": "Admitted voluntarily",
    "outcome.compulsory_care_lpt": "Compulsory care (LPT)",
    "outcome.referred_primary_care": "Referred to primary care",
    "outcome.referred_social_services": "Referred to social services",
    "outcome.no_patient_contact": "No patient contact",
    "plan.cause.day start": "start of the day",
    "plan.cause.visits changed": "visits changed",
    "plan.cause.units changed": "units changed",
    "plan.cause.unit taken": "unit taken for an acute callout",
    "plan.cause.visit running long": "a visit running long",
    "plan.cause.re-plan": "re-planned",
    "road.number": "road {n}",
    "map.zoom_in": "Zoom in",
    "map.zoom_out": "Zoom out",
  },
};

/** Why a callout may be cancelled (dispatch.rules_incidents.CANCEL_CODES). */
export const CANCEL_CODES = ["not_needed", "duplicate", "other_agency", "patient_not_found", "wrong_alarm", "other"];

/** A cancel's reason as people read it: the code's words, then the dispatcher's own. */
export function cancelReason(t, ev) {
  const parts = [ev.code ? t(`cancel.code.${ev.code}`) : "", ev.reason || ""].filter(Boolean);
  return parts.join(": ") || "–";
}

/** Why the day's visits were planned again (the planner's logged cause), in the page's words. */
export function planCause(t, cause) {
  if (!cause) return "–";
  const key = `plan.cause.${cause}`;
  const text = t(key);
  return text !== key ? text : cause;
}

/** A road's name as the map gives it; the generic "väg N" (a numbered road) is said in the
 * page's language ("road 97"), a signed or named road (E4, Storgatan) stays as it is. */
export function roadName(t, name) {
  const m = /^väg (\d+)$/.exec(name || "");
  return m ? t("road.number", { n: m[1] }) : name;
}

register(VOCAB);
