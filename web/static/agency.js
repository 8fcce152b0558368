// The agency page: raise an alarm (place name or map click) and follow its status and the
// MAE unit's ETA live over /ws/agency. Alarms go through REST POST /api/alarms; the server
// checks every field and its errors are shown next to the field they name.
import { register, t, lang, applyI18n, langToggle, onLangChange } from "/static/lib/i18n.js";
import { token, clearToken, api, LiveSocket, bindLoginForm } from "/static/lib/session.js";
import { addRoads } from "/static/lib/roads.js";
import { keepApart } from "/static/lib/declutter.js";
import { stockholmClock, stockholmParts } from "/static/lib/time.js";
import { codeText, errorText } from "/static/lib/errors.js";
import { TEXTS } from "/static/agency_texts.js";

register(TEXTS);

const KIND = "agency";
const $ = (id) => document.getElementById(id);
const STATUS_BADGE = {
  waiting: "warn", assigned: "info", acknowledged: "info", en_route: "info", on_scene: "ok",
  transporting: "ok", closed: "muted", cancelled: "danger", merged: "muted",
};
// Server field (as named in its errors) -> the error slot next to that field.
const SLOTS = {
  location: "location", "location.place": "location", "location.lat": "location",
  "location.lon": "location", priority: "priority", category: "category",
  "patient.age_band": "age_band", "patient.sex": "sex", "patient.children": "children",
  patient: "age_band", note: "note", reference: "reference", police_on_scene: "on_scene",
  ambulance_on_scene: "on_scene", callback: "callback",
};
const LABELS = {
  location: "location", priority: "priority", category: "category", age_band: "age_band",
  sex: "sex", children: "children", note: "note", reference: "reference", on_scene: "on_scene",
  callback: "callback",
};
const INPUTS = { location: "place", priority: "priority", category: "category", callback: "callback",
  age_band: "age_band", sex: "sex", note: "note", reference: "reference" };
// What the service takes (web/schemas.py AlarmIn): checked here first, to say what is allowed.
const REFERENCE = /^[A-Za-z0-9][A-Za-z0-9._:@+-]*$/;
const MAX_REFERENCE = 64;
const CALLBACK = /^(\+?[0-9][0-9 -]{1,28}[0-9])?$/;
const MAX_CALLBACK = 30;

const alarms = new Map(); // alarm_id -> {status..., receivedAt: ms of the client clock}
let socket = null;
let map = null;
let marker = null;
let point = null; // {lat, lon} from a map click
let declutter = () => {}; // keeps the map's names off the chosen point and apart (initMap)

// -- login ---------------------------------------------------------------------------------

function showLogin(message = "") {
  if (socket) socket.close();
  socket = null;
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("err-token").textContent = message;
  $("token-input").setAttribute("aria-invalid", message ? "true" : "false");
  $("token-input").focus();
}

function start(tok) {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  alarms.clear();
  renderAlarms();
  socket = new LiveSocket("/ws/agency", { token: tok, onMessage, onState });
  socket.connect();
  if (!map) initMap(tok);
}

function onState(state) {
  const el = $("conn");
  el.dataset.state = state;
  el.textContent = t(`conn_${state}`);
}

function onMessage(msg) {
  window.dispatchEvent(new CustomEvent("mae:agency-message", { detail: msg })); // agency_visits.js
  if (msg.type === "error" && (msg.status === 401 || msg.status === 403)) {
    clearToken(KIND);
    showLogin(t("token_refused", { message: errorText(msg) }));
  } else if (msg.type === "snapshot") {
    alarms.clear();
    mergeStatuses(msg.alarms || []);
  } else if (msg.type === "alarm_status") {
    mergeStatuses(msg.alarms || []);
  }
}

function mergeStatuses(list) {
  const now = Date.now();
  for (const a of list) alarms.set(a.alarm_id, { ...a, receivedAt: now });
  renderAlarms();
}

// -- the map -------------------------------------------------------------------------------

async function initMap(tok) {
  const L = window.L;
  // Quarter zoom steps, so the county fills the map (whole steps left it at half its size).
  map = L.map("map", { zoomControl: true, attributionControl: false, zoomSnap: 0.25 });
  $("map").maeMap = map; // for scripted use (tests, kiosk add-ons): the Leaflet map
  map.setView([66.5, 21.5], 6);
  map.on("click", (ev) => clickPoint(ev.latlng.lat, ev.latlng.lng));
  // As on the dispatcher's map: a town's name that would cover the chosen point's pin moves
  // beside it (a point chosen on the town keeps its name in view), or, where there is no
  // room or another name is in the way, is hidden and shows again zoomed in far enough.
  declutter = keepApart(map, () => ({ pins: marker ? [marker.getElement()].filter(Boolean) : [] }));
  try {
    const { bounds } = await addRoads(map, { token: tok });
    map.fitBounds(bounds, { padding: [4, 4], animate: false }); // the county, filling the map
  } catch (err) {
    if (err.status === 401) showLogin(t("token_refused", { message: errorText(err) }));
  }
  $("map").dataset.ready = "true";
}

let clicks = 0;
/** A map click: refused at once, in plain words, when no road is within reach of it (the
 * server holds an alarm's coordinates to the same limit); taken when the service cannot say. */
async function clickPoint(lat, lon) {
  const mine = ++clicks;
  clearError("location");
  $("point").dataset.checking = "true";
  let reach = null;
  try {
    reach = await api(`/api/map/reach?lat=${lat.toFixed(6)}&lon=${lon.toFixed(6)}`, { token: token(KIND) });
  } catch {
    /* offline or busy: the server checks the point when the alarm is sent */
  }
  if (mine !== clicks) return; // a later click decides
  delete $("point").dataset.checking;
  if (reach && !reach.reachable) {
    clearPoint();
    showFieldError("location", t("err_far_from_road", {
      km: (reach.limit_m / 1000).toLocaleString(lang() === "sv" ? "sv-SE" : "en-GB", { maximumFractionDigits: 1 }),
    }),
      { translated: true });
    return;
  }
  choosePoint(lat, lon);
}

function choosePoint(lat, lon) {
  point = { lat: Number(lat.toFixed(6)), lon: Number(lon.toFixed(6)) };
  $("place").value = "";
  if (marker) marker.setLatLng([point.lat, point.lon]);
  else marker = window.L.marker([point.lat, point.lon], { keyboard: false }).addTo(map);
  declutter();
  showPoint();
  clearError("location");
}

function clearPoint() {
  point = null;
  if (marker) marker.remove();
  marker = null;
  declutter();
  showPoint();
}

function showPoint() {
  const el = $("point");
  if (point) el.removeAttribute("data-i18n");
  else el.dataset.i18n = "point_none";
  el.textContent = point ? t("point_set", { lat: point.lat.toFixed(5), lon: point.lon.toFixed(5) })
    : t("point_none");
  $("clear-point").hidden = !point;
}

// -- place names ---------------------------------------------------------------------------

let lookup = 0;
async function suggestPlaces() {
  const q = $("place").value.trim();
  if (q) {
    clearPoint();
    clicks += 1; // a map click still being checked is dropped: the name typed wins
    delete $("point").dataset.checking;
  }
  const mine = ++lookup;
  if (!q) return;
  await new Promise((r) => setTimeout(r, 150));
  if (mine !== lookup) return;
  try {
    const found = await api(`/api/places?q=${encodeURIComponent(q)}`, { token: token(KIND) });
    if (mine !== lookup) return;
    const list = $("place-options");
    list.replaceChildren(...found.map((p) => {
      const opt = document.createElement("option");
      opt.value = p.name;
      opt.label = p.municipality && p.municipality !== p.name ? `${p.name} (${p.municipality})` : p.name;
      return opt;
    }));
  } catch {
    /* suggestions are a help only; the server checks the name on submit */
  }
}

// -- the form ------------------------------------------------------------------------------

/** A reference for an alarm sent without one: W<date>-<time in Sweden>-<random>. */
function newReference() {
  const d = stockholmParts(new Date());
  const p = (n) => String(n).padStart(2, "0");
  const rand = Math.random().toString(36).slice(2, 6).toUpperCase().padEnd(4, "0");
  return `W${d.year}${p(d.month)}${p(d.day)}-${p(d.hour)}${p(d.minute)}${p(d.second)}-${rand}`;
}

/** The reference to send. One made up is written into the field and kept until the server
 * has the alarm, so a retry after a lost reply sends the same one (no second alarm). */
function reference() {
  const field = $("reference");
  if (!field.value.trim()) field.value = newReference();
  return field.value.trim();
}

function payload() {
  const f = $("alarm-form");
  const place = $("place").value.trim();
  const location = place ? { place } : point ? { lat: point.lat, lon: point.lon } : {};
  const body = {
    reference: reference(),
    location,
    patient: {
      age_band: $("age_band").value,
      sex: $("sex").value,
      children: (f.querySelector("input[name=children]:checked") || {}).value || "unknown",
    },
    note: $("note").value,
    callback: $("callback").value.trim(),
    police_on_scene: $("police_on_scene").checked,
    ambulance_on_scene: $("ambulance_on_scene").checked,
  };
  // left out when not chosen, so the server names the missing field
  if ($("priority").value) body.priority = Number($("priority").value);
  if ($("category").value) body.category = $("category").value;
  return body;
}

function clearErrors() {
  for (const slot of Object.keys(LABELS)) clearError(slot);
  $("suggestions").replaceChildren();
  const n = $("form-notice");
  n.hidden = true;
  n.textContent = "";
}

function clearError(slot) {
  $(`err-${slot}`).textContent = "";
  const input = INPUTS[slot] && $(INPUTS[slot]);
  if (input) input.removeAttribute("aria-invalid");
}

/** A field's error in the page's words, from the server's error code (its own English
 * message is for integrators and is never shown). */
function translate(field, message, code = "", reason = "") {
  if (message === "Field required" || /^Input should be a valid (integer|string)/.test(message)) {
    return t("err_required");
  }
  if (field === "location" && /lat and lon, or a place name/.test(message)) return t("err_location");
  if (code === "unknown_place") return t("err_unknown_place", { place: $("place").value.trim() });
  if (field === "location" && /not on the loaded map/.test(message)) return t("err_off_map");
  if (field === "reference") return t("err_reference");
  if (field === "callback") return t(/at most/.test(message) ? "err_callback_long" : "err_callback");
  return codeText({ code: code || "invalid_request", reason });
}

/** Check what can be checked here before sending: a place (or map point), priority and
 * category, and the form of the number to call back and of the reference; each problem is
 * named beside its field. Returns whether the form is whole. */
function validate(body) {
  const problems = [];
  if (!body.location.place && body.location.lat === undefined) problems.push(["location", t("err_location")]);
  if (!body.priority) problems.push(["priority", t("err_required")]);
  if (!body.category) problems.push(["category", t("err_required")]);
  if (body.callback.length > MAX_CALLBACK) problems.push(["callback", t("err_callback_long")]);
  else if (!CALLBACK.test(body.callback)) problems.push(["callback", t("err_callback")]);
  if (body.reference.length > MAX_REFERENCE || !REFERENCE.test(body.reference)) {
    problems.push(["reference", t("err_reference")]);
  }
  for (const [field, text] of problems) showFieldError(field, text, { translated: true });
  const slot = problems.length && SLOTS[problems[0][0]];
  if (slot && INPUTS[slot]) $(INPUTS[slot]).focus();
  return problems.length === 0;
}

function showFieldError(field, message, { code = "", reason = "", translated = false } = {}) {
  const slot = SLOTS[field] || SLOTS[field.split(".")[0]];
  if (!slot) return false;
  const el = $(`err-${slot}`);
  const words = translated ? message
    : translate(slot === "location" ? "location" : field, message, code, reason);
  const text = `${t(LABELS[slot])}: ${words}`;
  el.textContent = el.textContent ? `${el.textContent} ${text}` : text;
  const input = INPUTS[slot] && $(INPUTS[slot]);
  if (input) input.setAttribute("aria-invalid", "true");
  return true;
}

function showErrors(err) {
  const body = err.body || {};
  const listed = Array.isArray(body.detail)
    ? body.detail.map((d) => ({
      field: (d.loc || []).filter((p) => p !== "body").join("."), message: d.msg,
    }))
    : Array.isArray(body.errors) && body.errors.length ? body.errors
      : [{ field: err.field || "", message: body.problem || err.message }];
  let first = null;
  let general = false;
  for (const { field, message } of listed) {
    // our own errors say "field: problem"; show the problem next to the field
    const text = field && message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message;
    const shown = showFieldError(field || "", text, { code: body.error || err.code || "", reason: body.reason || "" });
    if (shown) first = first || field;
    else general = true;
  }
  if (general) notice("error", t("err_general", { message: errorText(err) }));
  if (Array.isArray(body.suggestions) && body.suggestions.length) showSuggestions(body.suggestions);
  const slot = first && (SLOTS[first] || SLOTS[first.split(".")[0]]);
  const input = slot && INPUTS[slot] && $(INPUTS[slot]);
  if (input) input.focus();
}

function showSuggestions(names) {
  const box = $("suggestions");
  const label = document.createElement("span");
  label.textContent = `${t("did_you_mean")} `;
  box.replaceChildren(label, ...names.map((name) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = name;
    b.addEventListener("click", () => {
      $("place").value = name;
      clearPoint();
      clearErrors();
      $("place").focus();
    });
    return b;
  }));
}

function notice(kind, text) {
  const n = $("form-notice");
  n.className = `notice ${kind}`;
  n.textContent = text;
  n.hidden = false;
}

async function submit(ev) {
  ev.preventDefault();
  clearErrors();
  const body = payload();
  if (!validate(body)) return; // named beside each field, nothing sent
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("sending");
  try {
    const ack = await api("/api/alarms", { method: "POST", body, token: token(KIND) });
    if (!alarms.has(ack.alarm_id)) {
      alarms.set(ack.alarm_id, {
        alarm_id: ack.alarm_id, reference: body.reference, callout_id: ack.callout_id,
        status: "waiting", location: ack.location, priority: body.priority,
        received_at: new Date().toISOString(), unit_id: null, eta_remaining_s: null,
        receivedAt: Date.now(),
      });
      renderAlarms();
    }
    notice("ok", t(ack.duplicate ? "duplicate" : "sent",
      { reference: body.reference, callout_id: ack.callout_id }));
    resetForm();
  } catch (err) {
    if (err.status === 401) {
      clearToken(KIND);
      showLogin(t("token_refused", { message: errorText(err) }));
    } else {
      showErrors(err);
    }
  } finally {
    button.disabled = false;
    button.textContent = t("send");
  }
}

function resetForm() {
  for (const id of ["place", "reference", "note", "callback"]) $(id).value = "";
  for (const id of ["priority", "category"]) $(id).value = "";
  for (const id of ["age_band", "sex"]) $(id).value = "unknown";
  for (const id of ["police_on_scene", "ambulance_on_scene"]) $(id).checked = false;
  $("alarm-form").querySelector("input[name=children][value=unknown]").checked = true;
  clearPoint();
}

// -- the list of alarms --------------------------------------------------------------------

/** HH:MM in Swedish time (Europe/Stockholm), whatever zone the device is set to. */
function clock(iso) {
  return stockholmClock(iso, lang() === "sv" ? "sv-SE" : "en-GB");
}

/** The expected arrival of the unit still on its way, {text, late}: timed from when the
 * service sent it (eta_remaining_s, 0 once the time has passed), not from this device's
 * clock. A time that has passed says so (the unit is not there yet), rather than "now". */
function etaText(a) {
  if (a.eta_remaining_s === null || a.eta_remaining_s === undefined || !a.eta_at) return null;
  const left = a.eta_remaining_s - (Date.now() - a.receivedAt) / 1000;
  if (left <= 0) return { text: t("eta_passed", { time: clock(a.eta_at) }), late: true };
  const minutes = Math.round(left / 60);
  return { text: minutes < 1 ? t("eta_now", { time: clock(a.eta_at) })
    : t("eta_value", { time: clock(a.eta_at), minutes }), late: false };
}

function row(label, value, cls) {
  const dt = document.createElement("dt");
  dt.textContent = t(label);
  const dd = document.createElement("dd");
  dd.textContent = value;
  if (cls) dd.className = cls;
  return [dt, dd];
}

function renderAlarms() {
  const list = $("alarms");
  const items = [...alarms.values()].sort((a, b) => (b.received_at || "").localeCompare(a.received_at || ""));
  $("no-alarms").hidden = items.length > 0;
  list.replaceChildren(...items.map((a) => {
    const li = document.createElement("li");
    li.dataset.alarmId = a.alarm_id;
    li.dataset.status = a.status;
    const head = document.createElement("div");
    head.className = "alarm-head";
    const ref = document.createElement("span");
    const where = a.location ? (a.location.label || `${a.location.lat.toFixed(4)}, ${a.location.lon.toFixed(4)}`) : "";
    ref.textContent = `${a.reference} · ${where}`;
    const badge = document.createElement("span");
    badge.className = `badge ${STATUS_BADGE[a.status] || "muted"} status`;
    badge.textContent = t(`st_${a.status}`);
    head.append(ref, badge);
    const meta = document.createElement("dl");
    meta.className = "alarm-meta";
    meta.append(...row("callout", `${a.callout_id} · ${t("priority_short", { priority: a.priority })}`));
    if (a.received_at) meta.append(...row("received", clock(a.received_at), "received"));
    if (a.unit_id) meta.append(...row("unit", a.unit_id, "unit"));
    const eta = etaText(a);
    if (eta) meta.append(...row("eta", eta.text, eta.late ? "eta late" : "eta"));
    li.append(head, meta);
    return li;
  }));
}

// -- wiring --------------------------------------------------------------------------------

langToggle($("lang"));
applyI18n();
onLangChange(() => {
  showPoint();
  renderAlarms();
  if (socket) onState(socket.state);
});
bindLoginForm(KIND, (tok) => start(tok), () => t("token_missing"));
$("logout").addEventListener("click", () => {
  clearToken(KIND);
  showLogin();
});
$("alarm-form").addEventListener("submit", submit);
$("place").addEventListener("input", suggestPlaces);
$("clear-point").addEventListener("click", clearPoint);
setInterval(renderAlarms, 15000);

const saved = token(KIND);
if (saved) start(saved);
else showLogin();
