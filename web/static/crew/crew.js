// The crew's phone page: one job at a time, offline first. What the server last said (unit,
// job, route) is kept in localStorage; what the crew did and the server has not yet confirmed
// waits in the outbox and is laid over it, so the page shows the unit's status at once and
// enables only the legal next steps, with or without a connection. Both are stored per unit
// (storage.js), so another unit's login on the same phone never shows or sends them. This
// module holds the page's state and wires the rest together: the socket, the outbox and the
// route; the notices, the status buttons, the facility choice, the outcome form, messages,
// logging in and out, the shift, the wake lock and the sound button each have their own module.
import "/static/crew/texts.js";
import { t, applyI18n, langToggle, onLangChange } from "/static/lib/i18n.js";
import { token as storedToken, api, LiveSocket, NOT_A_TOKEN } from "/static/lib/session.js";
import { Outbox } from "/static/crew/outbox.js";
import { renderJob, RouteView } from "/static/crew/jobview.js";
import { PositionWatch } from "/static/crew/gps.js";
import { project, applyEvent } from "/static/crew/state.js";
import { bindToken, loadState, saveState, outboxKey } from "/static/crew/storage.js";
import { AppUpdates } from "/static/crew/update.js";
import { CrewVisits } from "/static/crew/visits.js";
import { Notices } from "/static/crew/notices.js";
import { FacilityChoice } from "/static/crew/facility.js";
import { buildOutcomeKinds, renderOutcome, toggleFollowUp, outcomeMessage } from "/static/crew/outcome.js";
import { CrewMessages } from "/static/crew/messages.js";
import { CrewLogin } from "/static/crew/login.js";
import { StatusButtons } from "/static/crew/statuses.js";
import { CrewShift } from "/static/crew/shift.js";
import { itemText, renderOutbox } from "/static/crew/outboxview.js";
import { keepAwake } from "/static/crew/wakelock.js";
import { watchSound, soundOn } from "/static/crew/sound.js";
import { loadWorkflow } from "/static/crew/workflow.js";
import { ServiceClock } from "/static/lib/clock.js";
import { cancelReason } from "/static/lib/vocab.js";
import { errorText } from "/static/lib/errors.js";

const $ = (id) => document.getElementById(id);

/** The service's time (learnt on every connection): ETAs count from it, presses are stamped with it. */
const clock = new ServiceClock();

const emptyServer = () => ({ unit: null, job: null, route: null, alerted: null, notices: [], messages: [] });

const crew = {
  token: null,
  unitId: null, // the unit whose state and outbox the page shows and sends (null: not known yet)
  socket: null,
  ready: false,
  workflow: null,
  server: emptyServer(),
  gps: "off",
};

/** Keep what the server last said (and the crew's choices) with the shown unit's state. */
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
  notices.render();
}

const store = () => crew.server;
const notices = new Notices({ store, persist: save });
const facility = new FacilityChoice({ store, persist: save, facilities: () => routeView.facilities });
const messages = new CrewMessages({ store, notices, enqueue, lastFix: () => gpsWatch.last, ready: () => crew.ready });
const statuses = new StatusButtons({ workflow: () => crew.workflow, current: () => projected(), facility, enqueue,
  now: () => clock.now() });

// -- the state the page shows ---------------------------------------------------------------

/** The server's unit and job with the unsent outbox items laid over them. */
function projected() {
  return project(crew.server, outbox.items, crew.workflow);
}

/** Draw the whole page from the projected unit and job (cheap enough for every change). */
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
  notices.followJob(job);
  facility.render(job, unit);
  statuses.render(unit, job);
  renderOutcome(job, crew.workflow, clock.now());
  shift.render(unit, job);
  renderOutbox(outbox, visits);
  messages.render();
  keepAwake(Boolean(job));
  facility.prefillOutcome(unit, job);
  if (job) {
    const route = crew.server.route && crew.server.route.callout_id === job.callout_id ? crew.server.route : null;
    routeView.show(route, job, unit);
    if (crew.ready && route && (route.to || null) !== facility.destination(job, unit)) loadRoute();
  }
  gpsFollow(unit);
}

// -- the outbox -----------------------------------------------------------------------------

const outbox = new Outbox({
  now: () => clock.now(), // when pressed, shown on the service's clock like the card's times
  onChange: () => {
    render();
    visits.render();
    updates.idle();
  },
  onRefused: (item, reply) => notices.add(
    t("outbox.refused", { what: itemText(item.msg, visits), message: errorText(reply) }), "error"),
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

/** Queue ``msg`` in the outbox and try to send it at once. */
function enqueue(msg) {
  outbox.add(msg);
  kick();
}

const visits = new CrewVisits({ root: $("visits-panel"), enqueue, pending: () => outbox.items,
  store: () => crew.server, persist: save });

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

/** The GPS runs while a unit is logged in and on duty. */
function gpsFollow(unit) {
  const onDuty = Boolean(crew.token) && Boolean(unit) && unit.status !== "off_duty";
  if (onDuty && !gpsWatch.running) gpsWatch.start();
  else if (!onDuty && gpsWatch.running) gpsWatch.stop();
}

// -- the socket -----------------------------------------------------------------------------

/** Show the connection's state in the status bar ("offline" whenever the phone says so). */
function setConn(state) {
  const el = $("conn");
  const shown = navigator.onLine === false ? "offline" : state;
  el.dataset.state = shown === "offline" ? "closed" : shown;
  el.dataset.conn = shown;
  el.textContent = t(`conn.${shown}`);
}

/** (Re)open the crew socket, resuming after event ``since`` (null: from a fresh snapshot). */
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
        login.refused(sock.closeReason === NOT_A_TOKEN ? t("crew.login.malformed")
          : errorText({ error: sock.closeCode === 4403 ? "forbidden" : "unauthorized" }));
        return;
      }
      setConn(s);
    },
  });
  crew.socket = sock;
  // Offline too: the socket (lib/session.js) drops a connection the moment the phone goes
  // offline and tries again the moment it is back; the bar says "Offline" meanwhile.
  sock.connect();
  if (navigator.onLine === false) setConn("offline");
}

/** Close the socket and stop the GPS: no unit is logged in. */
function disconnect() {
  if (crew.socket) crew.socket.close();
  crew.socket = null;
  crew.token = null;
  setConn("closed"); // not logged in: the closed socket no longer reports its state
  gpsWatch.stop();
}

window.addEventListener("offline", () => setConn("offline")); // the socket reconnects itself

/** A frame from the crew socket: the snapshot, "ready" (then send and fetch what waits), an
 * event applied to the stored state, or the server's refusal of the token. */
function onMessage(msg) {
  if (msg.type === "snapshot") {
    if (msg.unit && msg.unit.unit_id !== crew.unitId) bindUnit(msg.unit.unit_id);
    const before = crew.server.job ? crew.server.job.callout_id : null;
    crew.server.unit = msg.unit;
    crew.server.job = msg.job || null;
    if (!msg.job || msg.job.callout_id !== before) crew.server.route = null;
    if (msg.job && msg.job.status === "assigned" && crew.server.alerted !== msg.job.callout_id) notices.newJob(msg.job);
  } else if (msg.type === "ready") {
    crew.ready = true;
    syncClock();
    kick();
    loadRoute();
    shift.loadRota();
    visits.load();
  } else if (msg.type === "event" && ["MessageSent", "AssistRequested"].includes(msg.event.type)) {
    messages.onEvent(msg.event);
  } else if (msg.type === "event") {
    visits.onEvent(msg.event);
    for (const effect of applyEvent(crew.server, msg.event, msg.job, crew.workflow)) {
      if (effect.alert) {
        notices.newJob(crew.server.job);
        if (crew.ready) loadRoute();
      }
      if (effect.notice) notices.add(t(effect.notice, { ...effect.vars, why: cancelReason(t, effect.vars || {}) }), effect.level);
      if (effect.resync) connect(null); // the job changed in ways events do not carry
    }
    if (msg.event.type === "ShiftEnded") shift.loadRota();
  } else if (msg.type === "error" && msg.id == null && (msg.status === 401 || msg.status === 403)) {
    login.refused(errorText(msg));
    return;
  }
  save();
  render();
}

/** Learn the service's time; the ETA minutes on the card count from it. */
async function syncClock() {
  if (!crew.ready || !crew.socket) return;
  await clock.sync((m) => crew.socket.send(m));
  render();
}

let routeLoading = null; // the "callout|destination" being fetched

/** Fetch the route to the job (or, transporting, to the facility) unless it is held or being
 * fetched already (``force``: fetch anew). */
async function loadRoute(force = false) {
  const { unit, job } = projected();
  if (!unit || !job || !crew.token) return;
  const to = facility.destination(job, unit);
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
    if (exc.status === 401) login.refused(errorText(exc));
    else if (exc.status && exc.status !== 0) console.warn("no route", exc.message);
  } finally {
    if (routeLoading === key) routeLoading = null;
  }
}

const routeView = new RouteView({ token: null, onFacilities: () => render() });
const shift = new CrewShift({ ready: () => crew.ready, socket: () => crew.socket, enqueue });
const login = new CrewLogin({ crew, outbox, routeView, bindUnit, render, connect: () => connect(null), disconnect });

/** Wire the page's controls and timers, then open it for the stored token (or ask for one). */
async function main() {
  langToggle($("lang"));
  applyI18n();
  onLangChange(() => {
    setConn(crew.socket ? crew.socket.state : "closed");
    notices.render();
    render();
    visits.render();
  });
  watchSound();
  crew.workflow = await loadWorkflow();
  buildOutcomeKinds(crew.workflow);
  $("ack").addEventListener("click", () => statuses.acknowledge());
  $("route-refresh").addEventListener("click", () => loadRoute(true));
  $("assist").addEventListener("click", () => messages.requestAssist());
  $("message-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    messages.send();
  });
  $("facility").addEventListener("change", () => {
    facility.choose(projected().job); // the crew's choice outlives a reload
    render(); // the card names the new destination at once; the route follows
    loadRoute();
  });
  $("job-dest-change").addEventListener("click", () => facility.edit());
  $("sound").addEventListener("click", soundOn);
  setInterval(() => {
    const { job } = projected();
    if (job && !document.hidden) render(); // keeps the minutes to arrival current
  }, 30000);
  setInterval(syncClock, 60000); // the phone's clock drifts, the demo's service clock runs fast
  setInterval(() => {
    const { unit } = projected();
    if (unit && unit.status === "off_duty" && !document.hidden) shift.loadRota(); // a shift draws near
  }, 60000);
  $("outcome-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const msg = outcomeMessage(projected().job, clock.now());
    if (msg) enqueue(msg);
  });
  $("followup").addEventListener("change", toggleFollowUp);
  $("outbox-count").addEventListener("click", () => $("outbox").scrollIntoView({ behavior: "smooth" }));
  shift.wire();
  login.wire();
  updates.register();
  setConn(navigator.onLine === false ? "offline" : "closed");
  const tok = storedToken("crew");
  if (tok) login.start(tok);
  else login.show();
}

// For people and tests poking at the page: the outbox, the state and a manual position report.
window.maeCrew = { outbox, projected, clock, get route() { return crew.server.route; }, reportPosition, get alerts() { return notices.alerts; }, get ready() { return crew.ready; } };

main();
