// The landing page's texts and language toggle (no inline scripts: the pages' CSP refuses them).
import { register, applyI18n, langToggle } from "/static/lib/i18n.js";
register({
  sv: { title: "MAE Dispatch", intro: "Utalarmering av mobila akutpsykiatriska enheter (MAE) i Norrbotten.",
    dispatch: "Ledningscentral", dispatch_text: "Larm, enheter, förslag och utlarmning.",
    agency: "Larmande myndighet", agency_text: "Skicka larm och följ status och ankomsttid.",
    crew: "Enhet (besättning)", crew_text: "Uppdrag, kvittens, status och navigering.",
    stats: "Månadsstatistik", stats_text: "Utryckningar, utfall och svarstider per månad (chef, ledningscentral).",
    login: "Logga in med den token du fått (mae tokens create)." },
  en: { title: "MAE Dispatch", intro: "Dispatch of mobile acute psychiatry units (MAE) in Norrbotten.",
    dispatch: "Dispatch centre", dispatch_text: "Alarms, units, recommendations and dispatch.",
    agency: "Alerting agency", agency_text: "Send alarms and follow their status and arrival time.",
    crew: "Unit (crew)", crew_text: "Jobs, acknowledgement, status and navigation.",
    stats: "Monthly statistics", stats_text: "Callouts, outcomes and response times by month (managers, dispatchers).",
    login: "Log in with the token you were given (mae tokens create)." },
});
langToggle(document.getElementById("lang"));
applyI18n();
