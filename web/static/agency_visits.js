// Psychiatry books follow-up visits on the agency page (POST /api/visits) and follows them:
// status, planned unit and planned start (GET /api/visits, re-read as soon as the agency socket
// says one of its visits changed or a day plan moved one, and on every (re)connect; agency.js
// passes each socket message on as a "mae:agency-message" window event). Shown only to
// a token that may book (GET /api/visits/can-book). Patients are named by a pseudonymous
// reference only; the server refuses anything that looks like a personal number.
import { applyI18n, lang, onLangChange, register, t } from "/static/lib/i18n.js";
import { api, token } from "/static/lib/session.js";
import { errorText } from "/static/lib/errors.js";
import { formatStockholm, fromStockholmLocal, toStockholmLocal } from "/static/lib/time.js";

register({
  sv: {
    "visit.title": "Boka uppföljningsbesök",
    "visit.ref": "Patientreferens (pseudonym)",
    "visit.place": "Ort eller adress",
    "visit.from": "Tidigast start",
    "visit.to": "Senast start",
    "visit.minutes": "Längd (minuter)",
    "visit.doctor": "Läkare behövs",
    "visit.staff": "Antal personal",
    "visit.postponable": "Får flyttas till annan dag",
    "visit.book": "Boka besök",
    "visit.booked": "Besök {id} bokat.",
    "visit.list": "Våra besök",
    "visit.none": "Inga bokade besök.",
    "visit.planned": "planerat {unit} {at}",
    "visit.unplanned": "inte planerat ännu",
    "visit.status.booked": "bokat",
    "visit.status.started": "påbörjat",
    "visit.status.done": "genomfört",
    "visit.status.not_met": "ej träffad",
    "visit.status.cancelled": "avbokat",
  },
  en: {
    "visit.title": "Book a follow-up visit",
    "visit.ref": "Patient reference (pseudonym)",
    "visit.place": "Place or address",
    "visit.from": "Earliest start",
    "visit.to": "Latest start",
    "visit.minutes": "Duration (minutes)",
    "visit.doctor": "Needs a doctor",
    "visit.staff": "Staff needed",
    "visit.postponable": "May be moved to another day",
    "visit.book": "Book visit",
    "visit.booked": "Visit {id} booked.",
    "visit.list": "Our visits",
    "visit.none": "No visits booked.",
    "visit.planned": "planned {unit} {at}",
    "visit.unplanned": "not planned yet",
    "visit.status.booked": "booked",
    "visit.status.started": "started",
    "visit.status.done": "done",
    "visit.status.not_met": "not met",
    "visit.status.cancelled": "cancelled",
  },
});

const $ = (id) => document.getElementById(id);
const FORM = `
  <h2 data-i18n="visit.title"></h2>
  <form id="visit-form" class="stack" novalidate>
    <label for="visit-ref" data-i18n="visit.ref"></label>
    <input id="visit-ref" maxlength="32" autocomplete="off" required>
    <label for="visit-place" data-i18n="visit.place"></label>
    <input id="visit-place" maxlength="120" autocomplete="off" required>
    <div class="row">
      <div><label for="visit-from" data-i18n="visit.from"></label><input id="visit-from" type="datetime-local" required></div>
      <div><label for="visit-to" data-i18n="visit.to"></label><input id="visit-to" type="datetime-local" required></div>
    </div>
    <div class="row">
      <div><label for="visit-minutes" data-i18n="visit.minutes"></label>
        <input id="visit-minutes" type="number" min="5" max="480" value="45"></div>
      <div><label for="visit-staff" data-i18n="visit.staff"></label>
        <input id="visit-staff" type="number" min="1" max="6" value="1"></div>
    </div>
    <label class="choice"><input id="visit-doctor" type="checkbox"> <span data-i18n="visit.doctor"></span></label>
    <label class="choice"><input id="visit-postponable" type="checkbox" checked> <span data-i18n="visit.postponable"></span></label>
    <p id="visit-error" class="field-error" role="alert"></p>
    <p id="visit-ok" class="notice ok" role="status" hidden></p>
    <button id="visit-book" class="primary touch" type="submit" data-i18n="visit.book"></button>
  </form>
  <h3 data-i18n="visit.list"></h3>
  <ul id="visit-list" class="plain"></ul>`;

function fmt(iso) {
  return formatStockholm(iso, lang() === "sv" ? "sv-SE" : "en-GB", { weekday: "short", hour: "2-digit", minute: "2-digit" });
}

let shown = null; // the last list read, drawn again when the language changes

async function refresh(tok) {
  try {
    shown = await api("/api/visits?open_only=false", { token: tok });
  } catch {
    return;
  }
  render();
}

function render() {
  const visits = shown;
  const list = $("visit-list");
  if (!visits || !list) return;
  list.replaceChildren();
  if (!visits.length) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = t("visit.none");
    list.append(li);
  }
  for (const v of visits) {
    const li = document.createElement("li");
    li.dataset.visit = v.visit_id;
    li.dataset.status = v.status;
    const plan = v.planned_start ? t("visit.planned", { unit: v.planned_unit, at: fmt(v.planned_start) })
      : t("visit.unplanned");
    li.textContent = `${v.visit_id} · ${v.patient_ref} · ${v.location.label || ""} · ${t(`visit.status.${v.status}`)} · ${plan}`;
    list.append(li);
  }
}

async function book(tok) {
  const err = $("visit-error");
  err.textContent = "";
  $("visit-ok").hidden = true;
  const from = fromStockholmLocal($("visit-from").value);
  const to = fromStockholmLocal($("visit-to").value);
  const body = {
    patient_ref: $("visit-ref").value.trim(),
    location: { place: $("visit-place").value.trim() },
    earliest_start: from ? from.toISOString() : null,
    latest_start: to ? to.toISOString() : null,
    duration_min: Number($("visit-minutes").value),
    staff: Number($("visit-staff").value),
    competences: $("visit-doctor").checked ? ["doctor"] : [],
    postponable: $("visit-postponable").checked,
  };
  // An incomplete form is not sent: the first empty field is named in the server's words.
  const missing = [["patient_ref", body.patient_ref], ["location", body.location.place],
    ["earliest_start", from], ["latest_start", to]].find(([, value]) => !value);
  if (missing) {
    err.textContent = errorText({ error: "invalid_request", field: missing[0] });
    return;
  }
  try {
    const ack = await api("/api/visits", { method: "POST", body, token: tok });
    $("visit-ok").textContent = t("visit.booked", { id: ack.visit_id });
    $("visit-ok").hidden = false;
    $("visit-ref").value = "";
    refresh(tok);
  } catch (exc) {
    err.textContent = errorText(exc);
  }
}

async function init() {
  const tok = token("agency");
  const root = $("visit-booking");
  if (!tok || !root) return;
  let allowed = false;
  try {
    allowed = (await api("/api/visits/can-book", { token: tok })).can_book;
  } catch {
    return;
  }
  if (!allowed) return;
  root.innerHTML = FORM;
  applyI18n(root);
  const now = new Date();
  $("visit-from").value = toStockholmLocal(new Date(now.getTime() + 3600e3));
  $("visit-to").value = toStockholmLocal(new Date(now.getTime() + 4 * 3600e3));
  root.hidden = false;
  $("visit-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    book(tok);
  });
  refresh(tok);
  onLangChange(render);
  let pending = null;
  window.addEventListener("mae:agency-message", (ev) => {
    const msg = ev.detail || {};
    const kind = msg.type === "event" ? (msg.event || {}).type || "" : "";
    if (msg.type !== "ready" && !kind.startsWith("Visit") && kind !== "DayPlanned") return;
    if (pending) return; // a burst of events: one read
    pending = setTimeout(() => {
      pending = null;
      refresh(tok);
    }, 150);
  });
}

init();
