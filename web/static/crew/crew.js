// The crew's phone page: one job at a time, offline first. What the server last said (unit,
// job, route) is kept in localStorage; what the crew did and the server has not yet confirmed
// waits in the outbox and is laid over it, so the page shows the unit's status at once and
// enables only the legal next steps, with or without a connection. Both are stored per unit
// (storage.js), so another unit's login on the same phone never shows or sends them.
import "/static/crew/texts.js";
import { t, applyI18n, langToggle, onLangChange } from "/static/lib/i18n.js";
import { token as storedToken, setToken, clearToken, api, LiveSocket, NOT_A_TOKEN } from "/static/lib/session.js";
import { Outbox } from "/static/crew/outbox.js";
import { renderJob, RouteView, fmtTime, geoLink } from "/static/crew/jobview.js";
import { PositionWatch } from "/static/crew/gps.js";
import { project, allowedStatuses, applyEvent } from "/static/crew/state.js";
import { alarm, beep, unlock, watchAudio } from "/static/crew/alert.js";
import { boundUnit, bindToken, loadState, saveState, forget, outboxKey } from "/static/crew/storage.js";
import { AppUpdates } from "/static/crew/update.js";
import { SignOn } from "/static/crew/signon.js";
import { CrewVisits } from "/static/crew/visits.js";
import { fromStockholmLocal, toStockholmLocal } from "/static/lib/time.js";
import { ServiceClock } from "/static/lib/clock.js";
import { cancelReason } from "/static/lib/vocab.js";
import { errorText } from "/static/lib/errors.js";

const $ = (id) => document.getElementById(id);
const WORKFLOW_KEY = "mae.crew.workflow";

/** The service's time (learnt on every connection): ETAs count from it, presses are stamped with it. */
const clock = new ServiceClock();
const FOLLOW_UP_AHEAD_MS = 366 * 86400e3; // the service books follow-ups up to 366 days ahead

const emptyServer = () => ({ unit: null, job: null, route: null, alerted: null, notices: [], messages: [] });

const crew = {
  token: null,
  unitId: null, // the unit whose state and outbox the page shows and sends (null: not known yet)
  socket: null,
  ready: false,
  workflow: null,
  server: emptyServer(),
  alerts: 0,
  gps: "off",
};

function save() {
  saveState(crew.unitId, crew.server);
}

/** Show and send only ``unitId``'s stored state and outbox (null: nothing until it is known). */
function bindUnit(unitId) {
  if (unitId) bindToken(crew.token, unitId);
  crew.unitId = unitId;
  crew.server = { ...emptyServer(), ...(loadState(unitId) || {}) };
  outbox.bind(unitId ? outboxKey(unitId) : null);
  visits.bind(unitId, crew.token);
  renderNotices();
}

// -- notices --------------------------------------------------------------------------------

/** How long a success notice ("job closed") stays before it fades away by itself; warnings and
 * errors stay until dismissed. */
const OK_NOTICE_MS = 5000;
const FADE_MS = 400;

/** Add a notice; ``extra`` travels with it ({job: callout id}: a new job, opened by a tap;
 * {key, vars}: a text shown in the page's language, whichever it is when shown). */
function notice(text, kind = "warn", extra = {}) {
  crew.server.notices = [...crew.server.notices,
    { id: `${Date.now()}-${Math.random()}`, text, kind, ...extra }].slice(-8);
  save();
  renderNotices();
}

function dropNotice(id) {
  const before = crew.server.notices.length;
  crew.server.notices = crew.server.notices.filter((x) => x.id !== id);
  if (crew.server.notices.length === before) return;
  save();
  renderNotices();
}

/** The notices stick just below the sticky header, so one stays in view wherever the crew
 * has scrolled until it is dismissed. They come after the status bar, so they never cover it
 * (nor its "unsent" badge): they stick only once the bar has scrolled away under the header. */
function placeNotices() {
  const header = document.querySelector(".crew-header");
  if (header) document.documentElement.style.setProperty("--crew-header-h", `${header.offsetHeight}px`);
}
window.addEventListener("resize", placeNotices);

const fading = new Map(); // notice id -> timer that fades a success notice out

function fadeLater(n) {
  if (fading.has(n.id)) return;
  fading.set(n.id, setTimeout(() => {
    const el = $("notices").querySelector(`[data-notice="${CSS.escape(n.id)}"]`);
    if (el) el.classList.add("fading");
    setTimeout(() => {
      fading.delete(n.id);
      dropNotice(n.id);
    }, FADE_MS);
  }, OK_NOTICE_MS));
}

/** Show the new job's card (the tap on its notice). */
function showJob() {
  const card = $("job");
  if (card.hidden) return;
  card.scrollIntoView({ block: "start" });
  const first = $("ack").hidden ? $("job-title") : $("ack");
  first.focus({ preventScroll: true });
}

function renderNotices() {
  placeNotices();
  $("notices").replaceChildren(...crew.server.notices.map((n) => {
    const div = document.createElement("div");
    div.className = `notice ${n.kind} crew-notice`;
    div.dataset.notice = n.id;
    let p;
    if (n.job) { // a new job: the notice is the way to it, wherever the crew has scrolled
      div.dataset.job = n.job;
      p = document.createElement("button");
      p.type = "button";
      p.className = "notice-go";
      p.addEventListener("click", () => {
        dropNotice(n.id);
        showJob();
      });
    } else {
      p = document.createElement("span");
    }
    p.textContent = n.key ? t(n.key, n.vars || {}) : n.text; // a key: in the page's language
    const close = document.createElement("button");
    close.type = "button";
    close.className = "dismiss";
    close.textContent = t("outbox.dismiss");
    close.addEventListener("click", () => dropNotice(n.id));
    div.append(p, close);
    if (n.kind === "ok") fadeLater(n);
    return div;
  }));
}

// -- alerts ---------------------------------------------------------------------------------

/** A new job: beep and vibrate, and a notice that stays in view (the card may be scrolled
 * away) and leads to the card, with the page's title saying so (another tab, a locked screen). */
function alertNewJob(job) {
  crew.alerts += 1;
  crew.server.alerted = job.callout_id;
  document.body.dataset.alerts = String(crew.alerts);
  const loc = job.location || {};
  const where = loc.label || loc.resolved_from || "";
  crew.server.notices = crew.server.notices.filter((n) => !n.job); // one new job at a time
  notice("", "error", { job: job.callout_id, key: where ? "job.new.notice" : "job.new.notice.bare",
    vars: { id: job.callout_id, where } });
  alarm();
}

/** The new-job notice goes once the job is acknowledged (or gone); till then the page's title
 * says so too (another tab, the phone's list of apps). */
function followNewJob(job) {
  for (const n of crew.server.notices) {
    if (n.job && !(job && job.callout_id === n.job && job.status === "assigned")) dropNotice(n.id);
  }
  const fresh = job && job.status === "assigned";
  const title = fresh ? `${t("job.new.title", { id: job.callout_id })} – ${t("crew.title")}` : t("crew.title");
  if (document.title !== title) document.title = title;
}

// -- the state the page shows ---------------------------------------------------------------

/** The server's unit and job with the unsent outbox items laid over them. */
function projected() {
  return project(crew.server, outbox.items, crew.workflow);
}

function render() {
  const { unit, job } = projected();
  $("unit-name").textContent = unit ? `· ${unit.name}` : "";
  $("unit-status").textContent = unit ? t(`status.${unit.status}`) : "–";
  $("unit-status").dataset.status = unit ? unit.status : "";
  $("gps").textContent = t(`gps.${crew.gps}`);
  $("idle").hidden = Boolean(job) || !unit;
  $("job").hidden = !job;
  $("route").hidden = !job;
  if (job) renderJob(job, clock.now(), { connected: crew.ready });
  else $("job-notes").replaceChildren(); // no notes of a job that is gone stay in the page
  followNewJob(job);
  renderDestination(job, unit);
  renderStatuses(unit, job);
  const wf = crew.workflow;
  $("outcome-panel").hidden = !(job && wf && wf.closable.includes(job.status));
  gateOutcomeKinds(job);
  renderShift(unit, job);
  renderOutbox();
  renderMessages();
  keepAwake(Boolean(job));
  prefillFacility(unit, job);
  if (job) {
    const route = crew.server.route && crew.server.route.callout_id === job.callout_id ? crew.server.route : null;
    routeView.show(route, job, unit);
    if (crew.ready && route && (route.to || null) !== destination(job, unit)) loadRoute();
  }
  gpsFollow(unit);
}

// -- the screen stays on while there is a job (Screen Wake Lock API; the browser drops the
// lock when the page is hidden, so it is asked for again when the page shows) -------------

let wakeLock = null;
let wantAwake = false;
let wakeAsked = 0; // when the lock was last asked for (refused: asked again on a render a second later)

async function keepAwake(on) {
  wantAwake = on;
  if (!("wakeLock" in navigator)) return;
  try {
    if (on && !wakeLock && !document.hidden && Date.now() - wakeAsked > 1000) {
      wakeAsked = Date.now();
      wakeLock = await navigator.wakeLock.request("screen");
      document.body.dataset.wakeLock = "on";
      wakeLock.addEventListener("release", () => {
        wakeLock = null;
        document.body.dataset.wakeLock = "off";
      });
    } else if (!on && wakeLock) {
      await wakeLock.release();
    }
  } catch {
    wakeLock = null; // refused (battery saver, no permission): the page works on without it
  }
}
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && wantAwake) keepAwake(true);
});

/** ``crew.server[key]`` ({callout_id, name}: a facility the crew chose or reported at) when it
 * belongs to ``job``, else "". */
function jobFacility(key, job) {
  const held = crew.server[key];
  return job && held && typeof held === "object" && held.callout_id === job.callout_id
    && typeof held.name === "string" ? held.name : "";
}

/** While transporting, the card says where to: the facility in the field under the status
 * buttons, which starts as the route's destination (the nearest psychiatric emergency unit)
 * so "Vid mottagning" needs no typing, and which the crew can change before arriving (the
 * route and the navigation app's link follow; the choice is kept with the unit's state, so it
 * survives a reload). A new job starts the field empty (a facility typed for the last job is
 * not this one's). */
let facilityJob = null; // the job the facility field belongs to
let facilityAuto = null; // "callout|facility" the page put in the field itself
function renderDestination(job, unit) {
  const field = $("facility");
  if (job && job.callout_id !== facilityJob) {
    field.value = jobFacility("destination", job);
    facilityJob = job.callout_id;
    facilityAuto = null;
  }
  const transporting = Boolean(job) && job.status === "transporting" && Boolean(unit) && unit.status === "transporting";
  $("job-dest-label").hidden = !transporting;
  $("job-dest-box").hidden = !transporting;
  if (!transporting) return;
  const to = destination(job, unit);
  if (to && !field.value.trim() && facilityAuto === null) {
    field.value = to;
    facilityAuto = `${job.callout_id}|${to}`;
  }
  const typed = field.value.trim();
  const known = routeView.facilities.find((f) => f.name === (typed || to));
  $("job-dest").textContent = typed || to || t("job.destination.pending");
  $("job-dest-note").textContent = !typed ? ""
    : facilityAuto === `${job.callout_id}|${typed}` ? t("job.destination.nearest")
      : !known && to ? t("job.destination.offmap", { name: to }) : "";
  const nav = $("job-dest-nav"); // the phone's navigation app, to the facility (not the pickup)
  nav.hidden = !known;
  if (known) {
    nav.href = geoLink(known.lat, known.lon, known.name);
    $("job-nav").hidden = true;
  }
}

/** The facility the crew reported at ("Vid mottagning") goes into the outcome form, unless
 * the crew has typed one there already. */
let prefilledFor = null;
function prefillFacility(unit, job) {
  if (!job || !unit || unit.status !== "at_facility") return;
  const typed = jobFacility("facility", job) || $("facility").value.trim();
  const field = $("outcome-facility");
  if (typed && !field.value.trim() && prefilledFor !== job.callout_id) {
    field.value = typed;
    prefilledFor = job.callout_id;
  }
}

function renderStatuses(unit, job) {
  const wf = crew.workflow;
  const box = $("status-buttons");
  if (wf && box.childElementCount === 0) {
    for (const s of wf.reportable) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "status-button";
      b.dataset.status = s;
      b.addEventListener("click", () => reportStatus(s));
      box.append(b);
    }
  }
  const allowed = allowedStatuses(unit, job, crew.workflow);
  for (const b of box.querySelectorAll("button")) {
    b.textContent = t(`status.${b.dataset.status}`);
    b.disabled = !allowed.has(b.dataset.status);
    b.setAttribute("aria-pressed", String(Boolean(unit) && unit.status === b.dataset.status));
  }
  $("facility-box").hidden = !(wf && wf.needs_facility.some((s) => allowed.has(s)));
}

function renderShift(unit, job) {
  signOn.render(unit, job);
}

/** Ask the server for this unit's rota shift (the sign-on form's end is prefilled from it). */
async function loadRota() {
  if (!crew.ready) return;
  try {
    const reply = await crew.socket.send({ type: "rota" });
    signOn.setRota(reply.type === "rota" ? reply.units[0] : null);
  } catch {
    /* offline again: the next connection asks anew */
  }
}

function itemText(msg) {
  if (msg.type === "ack") return t("item.ack", { id: msg.callout_id });
  if (msg.type === "status") return t("item.status", { status: t(`status.${msg.status}`) });
  if (msg.type === "outcome") return t("item.outcome", { kind: t(`outcome.${msg.kind}`) });
  if (msg.type === "position") return t("item.position", { lat: msg.lat.toFixed(4), lon: msg.lon.toFixed(4) });
  if (msg.type === "shift_start") return t("item.shift_start", { n: msg.crew.length });
  if (msg.type === "assist") return t("item.assist");
  if (msg.type === "message") return t("item.message");
  if (msg.type === "visit") return visits.itemText(msg);
  return msg.type;
}

function renderOutbox() {
  const n = outbox.size;
  $("outbox-title").textContent = t("outbox.title", { n });
  $("outbox").dataset.count = String(n);
  $("outbox-hint").textContent = n ? t("outbox.sending") : t("outbox.empty");
  const badge = $("outbox-count");
  badge.hidden = n === 0;
  badge.textContent = t("outbox.title", { n });
  $("outbox-list").replaceChildren(...outbox.items.map((item) => {
    const li = document.createElement("li");
    li.dataset.op = item.op;
    li.dataset.type = item.msg.type;
    const time = document.createElement("span");
    time.className = "muted";
    time.textContent = `${fmtTime(item.at)} `;
    li.append(time, itemText(item.msg));
    return li;
  }));
}

// -- the outbox -----------------------------------------------------------------------------

const outbox = new Outbox({
  now: () => clock.now(), // when pressed, shown on the service's clock like the card's times
  onChange: () => {
    render();
    visits.render();
    updates.idle();
  },
  onRefused: (item, reply) => notice(t("outbox.refused", { what: itemText(item.msg), message: errorText(reply) }), "error"),
});

const updates = new AppUpdates({ pending: () => outbox.size });

let kickTimer = null;

/** Flush the outbox through the open socket (now, or after ``delay`` ms). */
function kick(delay = 0) {
  clearTimeout(kickTimer);
  kickTimer = setTimeout(async () => {
    if (!crew.ready || !crew.socket) return;
    const send = (m) => (crew.socket ? crew.socket.send(m) : Promise.reject(new Error("no socket")));
    const result = await outbox.flush(send);
    // No reply on a socket that looks open: it is half-dead (a tunnel, a cell change): reopen.
    if (result === "waiting" && crew.socket && crew.socket.state === "open") connect(crew.socket.lastSeq);
    if (result !== "empty" && outbox.size) kick(result === "retry" ? 5000 : 1000);
  }, delay);
}

function enqueue(msg) {
  outbox.add(msg);
  kick();
}

const visits = new CrewVisits({ root: $("visits-panel"), enqueue, pending: () => outbox.items,
  store: () => crew.server, persist: save });

function reportStatus(status) {
  const { job } = projected();
  const wf = crew.workflow;
  const msg = { type: "status", status };
  if (wf && wf.needs_facility.includes(status)) {
    const facility = $("facility").value.trim();
    $("facility-error").textContent = facility ? "" : t("status.facility.missing");
    $("facility").setAttribute("aria-invalid", String(!facility));
    if (!facility) {
      $("facility").focus();
      return;
    }
    msg.facility = facility;
    if (job) { // prefilled into the outcome form, after a reload too
      crew.server.facility = { callout_id: job.callout_id, name: facility };
      save();
    }
  }
  if (job) msg.callout_id = job.callout_id;
  // When the crew pressed, on the service's clock: a status that waits offline still counts
  // from the press (the service bounds it; the outbox keeps it as it was pressed).
  msg.pressed_at = clock.now().toISOString();
  enqueue(msg);
}

/** Queue a position report (also what the GPS watch calls). */
function reportPosition(lat, lon) {
  enqueue({ type: "position", lat: Math.round(lat * 1e6) / 1e6, lon: Math.round(lon * 1e6) / 1e6 });
}

const gpsWatch = new PositionWatch({
  onReport: ({ lat, lon }) => reportPosition(lat, lon),
  onState: (s) => {
    crew.gps = s;
    $("gps").textContent = t(`gps.${s}`);
  },
});

function gpsFollow(unit) {
  const onDuty = Boolean(crew.token) && Boolean(unit) && unit.status !== "off_duty";
  if (onDuty && !gpsWatch.running) gpsWatch.start();
  else if (!onDuty && gpsWatch.running) gpsWatch.stop();
}

// -- the socket -----------------------------------------------------------------------------

function setConn(state) {
  const el = $("conn");
  const shown = navigator.onLine === false ? "offline" : state;
  el.dataset.state = shown === "offline" ? "closed" : shown;
  el.dataset.conn = shown;
  el.textContent = t(`conn.${shown}`);
}

function connect(since = null) {
  if (crew.socket) crew.socket.close();
  crew.ready = false;
  const sock = new LiveSocket("/ws/crew", {
    token: crew.token,
    since,
    onMessage: (msg) => sock === crew.socket && onMessage(msg),
    onState: (s) => {
      if (sock !== crew.socket) return;
      if (s !== "open") crew.ready = false;
      if (s === "open") updates.check();
      if (s === "closed" && [4401, 4403].includes(sock.closeCode)) {
        // In the page's words: the close reason is the service's (or the socket's) English.
        refused(sock.closeReason === NOT_A_TOKEN ? t("crew.login.malformed")
          : errorText({ error: sock.closeCode === 4403 ? "forbidden" : "unauthorized" }));
        return;
      }
      setConn(s);
    },
  });
  crew.socket = sock;
  if (navigator.onLine === false) setConn("offline");
  else sock.connect();
}

window.addEventListener("offline", () => {
  if (crew.socket) crew.socket.close();
  crew.ready = false;
  setConn("offline");
});
window.addEventListener("online", () => {
  if (crew.token) connect(crew.socket ? crew.socket.lastSeq : null);
});

function onMessage(msg) {
  if (msg.type === "snapshot") {
    if (msg.unit && msg.unit.unit_id !== crew.unitId) bindUnit(msg.unit.unit_id);
    const before = crew.server.job ? crew.server.job.callout_id : null;
    crew.server.unit = msg.unit;
    crew.server.job = msg.job || null;
    if (!msg.job || msg.job.callout_id !== before) crew.server.route = null;
    if (msg.job && msg.job.status === "assigned" && crew.server.alerted !== msg.job.callout_id) alertNewJob(msg.job);
  } else if (msg.type === "ready") {
    crew.ready = true;
    syncClock();
    kick();
    loadRoute();
    loadRota();
    visits.load();
  } else if (msg.type === "event" && ["MessageSent", "AssistRequested"].includes(msg.event.type)) {
    onCrewEvent(msg.event);
  } else if (msg.type === "event") {
    visits.onEvent(msg.event);
    for (const effect of applyEvent(crew.server, msg.event, msg.job, crew.workflow)) {
      if (effect.alert) {
        alertNewJob(crew.server.job);
        if (crew.ready) loadRoute();
      }
      if (effect.notice) notice(t(effect.notice, { ...effect.vars, why: cancelReason(t, effect.vars || {}) }), effect.level);
      if (effect.resync) connect(null); // the job changed in ways events do not carry
    }
    if (msg.event.type === "ShiftEnded") loadRota();
  } else if (msg.type === "error" && msg.id == null && (msg.status === 401 || msg.status === 403)) {
    refused(errorText(msg));
    return;
  }
  save();
  render();
}

// -- messages and the assist button ---------------------------------------------------------

/** A message to or from dispatch (kept with the unit's state; never in any log), or the
 * service's word that the panic alarm arrived. */
function onCrewEvent(ev) {
  if (ev.type === "AssistRequested") {
    notice(t("assist.sent"), "error");
    return;
  }
  const list = crew.server.messages || [];
  crew.server.messages = [...list, { at: ev.at, text: ev.text, mine: ev.from_crew }].slice(-30);
  if (!ev.from_crew) {
    notice(t("messages.from", { text: ev.text }), "warn");
    alarm();
  }
  renderMessages();
}

function renderMessages() {
  $("message-list").replaceChildren(...(crew.server.messages || []).map((m) => {
    const li = document.createElement("li");
    li.className = m.mine ? "mine" : "theirs";
    const time = document.createElement("time");
    time.textContent = fmtTime(m.at);
    li.append(time, m.text);
    return li;
  }));
}

/** The panic button: asks once (a pocket press must not raise it), then goes through the
 * outbox like a status, with the latest GPS fix. */
function requestAssist() {
  if (!window.confirm(t("assist.confirm"))) return;
  const fix = gpsWatch.last || (crew.server.unit && crew.server.unit.position);
  const msg = { type: "assist" };
  if (fix && Number.isFinite(fix.lat) && Number.isFinite(fix.lon)) {
    msg.lat = Math.round(fix.lat * 1e6) / 1e6;
    msg.lon = Math.round(fix.lon * 1e6) / 1e6;
  }
  enqueue(msg);
  if (!crew.ready) notice(t("assist.queued"), "error");
}

/** Learn the service's time; the ETA minutes on the card count from it. */
async function syncClock() {
  if (!crew.ready || !crew.socket) return;
  await clock.sync((m) => crew.socket.send(m));
  render();
}

/** Where the route goes: the callout, or, while transporting, the facility the crew typed (a
 * map facility) or else the nearest psychiatric emergency unit. */
function destination(job, unit) {
  if (!job || job.status !== "transporting") return null;
  const facilities = routeView.facilities;
  const typed = $("facility").value.trim();
  if (typed && facilities.some((f) => f.name === typed)) return typed;
  const from = (unit && unit.position) || job.location;
  const emergency = facilities.filter((f) => (f.kinds || [f.kind]).includes("psychiatric_emergency"));
  if (!from || !emergency.length) return null;
  const d = (f) => (f.lat - from.lat) ** 2 + ((f.lon - from.lon) * Math.cos((from.lat * Math.PI) / 180)) ** 2;
  return emergency.reduce((a, b) => (d(b) < d(a) ? b : a)).name;
}

let routeLoading = null; // the "callout|destination" being fetched

async function loadRoute(force = false) {
  const { unit, job } = projected();
  if (!unit || !job || !crew.token) return;
  const to = destination(job, unit);
  const key = `${job.callout_id}|${to || ""}`;
  const have = crew.server.route;
  if (!force && have && have.callout_id === job.callout_id && (have.to || null) === to) return;
  if (!force && routeLoading === key) return;
  routeLoading = key;
  const q = new URLSearchParams({ unit_id: unit.unit_id, callout_id: job.callout_id });
  if (to) q.set("facility", to);
  try {
    const route = await api(`/api/route?${q}`, { token: crew.token });
    if (crew.server.job && crew.server.job.callout_id === route.callout_id) {
      crew.server.route = { ...route, to };
      save();
      render();
    }
  } catch (exc) {
    if (exc.status === 401) refused(errorText(exc));
    else if (exc.status && exc.status !== 0) console.warn("no route", exc.message);
  } finally {
    if (routeLoading === key) routeLoading = null;
  }
}

// -- forms ----------------------------------------------------------------------------------

function buildOutcomeKinds() {
  const box = $("outcome-kinds");
  if (!crew.workflow || box.childElementCount) return;
  for (const { kind, transport, after_transporting: after } of crew.workflow.outcome_kinds) {
    const label = document.createElement("label");
    label.className = "choice";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "outcome-kind";
    input.value = kind;
    input.dataset.transport = String(transport);
    const span = document.createElement("span");
    span.dataset.i18n = `outcome.${kind}`;
    span.textContent = t(`outcome.${kind}`);
    label.append(input, span);
    if (after) { // the server takes it only once Transporting is reported (the drive is logged)
      input.dataset.afterTransporting = "true";
      const hint = document.createElement("small");
      hint.className = "choice-hint";
      hint.dataset.i18n = "outcome.after_transporting";
      hint.textContent = t("outcome.after_transporting");
      label.append(hint);
    }
    box.append(label);
  }
}

/** An outcome the MAE car's own drive ends (transport by MAE) waits for Transporting. */
function gateOutcomeKinds(job) {
  const open = Boolean(job) && job.status === "transporting";
  for (const input of document.querySelectorAll("input[data-after-transporting]")) {
    input.disabled = !open;
    if (!open) input.checked = false;
    const hint = input.parentElement.querySelector(".choice-hint");
    if (hint) hint.hidden = open;
  }
  const now = clock.now(); // a follow-up from now to a year ahead, in Swedish time
  $("followup-at").min = toStockholmLocal(now);
  $("followup-at").max = toStockholmLocal(new Date(now.getTime() + FOLLOW_UP_AHEAD_MS));
}

function submitOutcome(ev) {
  ev.preventDefault();
  const { job } = projected();
  if (!job) return;
  const chosen = document.querySelector("input[name=outcome-kind]:checked");
  const facility = $("outcome-facility").value.trim();
  const followUp = $("followup").checked;
  const at = $("followup-at").value;
  const when = followUp ? fromStockholmLocal(at) : null;
  const now = clock.now().getTime();
  const errors = {
    "outcome-kind-error": chosen ? "" : t("outcome.kind.missing"),
    "outcome-facility-error": chosen && chosen.dataset.transport === "true" && !facility ? t("outcome.facility.missing") : "",
    "followup-error": !followUp ? "" : !when ? t("outcome.followup.missing")
      : when.getTime() < now - 60e3 || when.getTime() > now + FOLLOW_UP_AHEAD_MS
        ? t("outcome.followup.range") : "",
  };
  for (const [id, text] of Object.entries(errors)) $(id).textContent = text;
  $("outcome-facility").setAttribute("aria-invalid", String(Boolean(errors["outcome-facility-error"])));
  if (Object.values(errors).some(Boolean)) return;
  const msg = { type: "outcome", callout_id: job.callout_id, kind: chosen.value, facility };
  for (const box of document.querySelectorAll("#care-questions [data-question]")) {
    const answer = box.querySelector("input:checked"); // yes / no / unknown, never a name
    msg[box.dataset.question] = answer ? answer.value : "unknown";
  }
  if (followUp) msg.follow_up_at = when.toISOString(); // typed in Swedish time
  $("outcome-form").reset();
  $("followup-box").hidden = true;
  enqueue(msg);
}

/** Send ``msg`` now (signing off needs the server's answer); true when it went through. */
async function sendNow(msg) {
  $("shift-error").textContent = "";
  if (!crew.ready) {
    $("shift-error").textContent = t("shift.online");
    return false;
  }
  try {
    const reply = await crew.socket.send(msg);
    if (reply.type !== "error") return true;
    $("shift-error").textContent = t("notice.error", { message: errorText(reply) });
  } catch (exc) {
    $("shift-error").textContent = t("notice.error", { message: errorText(exc) });
  }
  return false;
}

/** Offer "sound on" while audio is blocked. It goes away only after the tap that unlocked audio
 * is over: removed mid-tap, the bar would shrink under the finger and the tap hit nothing. */
let tapping = false;
function showSoundButton(blocked) {
  if (blocked || !tapping) $("sound").hidden = !blocked;
  else document.addEventListener("pointerup", () => setTimeout(() => showSoundButton(false), 0), { once: true });
}
document.addEventListener("pointerdown", () => { tapping = true; }, true);
document.addEventListener("pointerup", () => { tapping = false; }, true);
document.addEventListener("pointercancel", () => { tapping = false; }, true);

// -- login ----------------------------------------------------------------------------------

/** The server refused the token: forget it and everything stored for the unit, so nothing of
 * it is shown to, or sent by, whoever logs in next; say so when unsent items went with it. */
function refused(message) {
  const lost = outbox.size;
  outbox.clear();
  forget(crew.unitId);
  bindUnit(null);
  showLogin(t("crew.login.bad", { message }));
  const note = $("login-notice");
  note.textContent = lost ? t("crew.login.discarded", { n: lost }) : "";
  note.hidden = !lost;
}

function showLogin(error = "") {
  if (crew.socket) crew.socket.close();
  crew.socket = null;
  crew.token = null;
  setConn("closed"); // not logged in: the closed socket no longer reports its state
  clearToken("crew");
  gpsWatch.stop();
  $("login").hidden = false;
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login-error").textContent = error;
  $("token-input").setAttribute("aria-invalid", String(Boolean(error)));
  $("token-input").focus();
}

function start(token) {
  crew.token = token;
  routeView.token = token;
  bindUnit(boundUnit(token)); // this token's unit as last seen, or nothing until the snapshot
  $("login-notice").hidden = true;
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  try {
    render();
  } finally {
    connect(null); // a page that fails to draw must still connect and take its jobs
  }
}

const routeView = new RouteView({ token: null, onFacilities: () => render() });
const signOn = new SignOn();

async function loadWorkflow() {
  try {
    const wf = await api("/crew/workflow.json");
    localStorage.setItem(WORKFLOW_KEY, JSON.stringify(wf));
    return wf;
  } catch {
    try {
      return JSON.parse(localStorage.getItem(WORKFLOW_KEY) || "null");
    } catch {
      return null;
    }
  }
}

/** Log the unit out of the phone: its unsent items and stored state go (the caller shows the
 * login form or logs in with another token). */
function logOut() {
  outbox.clear();
  forget(crew.unitId);
  bindUnit(null);
}

/** The token of a #token= link, taken out of the address bar (null: none). */
function takeHashToken() {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  const value = (hash.get("token") || "").trim();
  if (!hash.has("token")) return null;
  hash.delete("token");
  const rest = hash.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  return value || null;
}

/** A #token= link opened in the running page (another unit's, say): log in with it, asking
 * first, as logging out does, when a unit is logged in (its unsent items are lost). */
function onHashToken() {
  const value = takeHashToken();
  if (!value || value === crew.token) return;
  if (crew.token) {
    const question = outbox.size ? t("crew.switch.confirm", { n: outbox.size }) : t("crew.switch.ask");
    if (!window.confirm(question)) return;
    logOut();
  }
  setToken("crew", value);
  start(value);
}

async function main() {
  langToggle($("lang"));
  applyI18n();
  onLangChange(() => {
    setConn(crew.socket ? crew.socket.state : "closed");
    renderNotices();
    render();
    visits.render();
  });
  document.addEventListener("pointerdown", unlock);
  document.addEventListener("keydown", unlock);
  watchAudio(showSoundButton);
  crew.workflow = await loadWorkflow();
  buildOutcomeKinds();
  $("ack").addEventListener("click", () => {
    const { job } = projected();
    if (!job) return;
    const focused = document.activeElement === $("ack");
    enqueue({ type: "ack", callout_id: job.callout_id });
    // The button hides with the acknowledgement: focus goes on to the next step (På väg),
    // not back to the page's body.
    if (focused && $("ack").hidden) {
      const next = $("status-buttons").querySelector("button:not(:disabled)");
      if (next) next.focus();
    }
  });
  $("route-refresh").addEventListener("click", () => loadRoute(true));
  $("assist").addEventListener("click", requestAssist);
  $("message-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("message-text").value.trim();
    if (!text) return;
    enqueue({ type: "message", text });
    $("message-text").value = "";
  });
  $("facility").addEventListener("change", () => {
    const { job } = projected(); // the crew's choice outlives a reload
    const name = $("facility").value.trim();
    if (job) {
      crew.server.destination = name ? { callout_id: job.callout_id, name } : null;
      save();
    }
    render(); // the card names the new destination at once; the route follows
    loadRoute();
  });
  $("job-dest-change").addEventListener("click", () => {
    $("facility").focus();
    $("facility").select();
    $("facility-box").scrollIntoView({ block: "center" });
  });
  $("sound").addEventListener("click", () => {
    unlock();
    beep();
  });
  setInterval(() => {
    const { job } = projected();
    if (job && !document.hidden) render(); // keeps the minutes to arrival current
  }, 30000);
  setInterval(syncClock, 60000); // the phone's clock drifts, the demo's service clock runs fast
  setInterval(() => {
    const { unit } = projected();
    if (unit && unit.status === "off_duty" && !document.hidden) loadRota(); // a shift draws near
  }, 60000);
  $("outcome-form").addEventListener("submit", submitOutcome);
  $("followup").addEventListener("change", () => { $("followup-box").hidden = !$("followup").checked; });
  $("outbox-count").addEventListener("click", () => $("outbox").scrollIntoView({ behavior: "smooth" }));
  $("shift-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const msg = signOn.message();
    if (!msg) return;
    $("shift-error").textContent = "";
    enqueue(msg); // like a status: queued, sent (exactly once) when there is a connection
    signOn.reset();
  });
  $("shift-end").addEventListener("click", () => {
    // Asked first, like logging out: a mis-tap must not take the unit out of service.
    if (!window.confirm(t("shift.end.ask"))) return;
    sendNow({ type: "shift_end" });
  });
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    unlock();
    const value = $("token-input").value.trim();
    if (!value) return;
    setToken("crew", value);
    $("token-input").value = "";
    start(value);
  });
  $("logout").addEventListener("click", () => {
    // Always ask: a mis-tap on a moving car's phone must not log the unit out.
    const question = outbox.size ? t("crew.logout.confirm", { n: outbox.size }) : t("crew.logout.ask");
    if (!window.confirm(question)) return;
    logOut();
    showLogin();
  });
  window.addEventListener("hashchange", onHashToken);
  updates.register();
  setConn(navigator.onLine === false ? "offline" : "closed");
  const tok = storedToken("crew");
  if (tok) start(tok);
  else showLogin();
}

// For people and tests poking at the page: the outbox, the state and a manual position report.
window.maeCrew = { outbox, projected, clock, get route() { return crew.server.route; }, reportPosition, get alerts() { return crew.alerts; }, get ready() { return crew.ready; } };

main();
