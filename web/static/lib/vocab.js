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
  },
};

register(VOCAB);
