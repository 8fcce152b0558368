// The dispatcher's live map page: units, callouts and the queue over /ws/dispatch, unit
// recommendations and one-click (or one-key) assignment, routes, coverage, a timeline per
// callout with merge/split/cancel/note, and loud flags for unacknowledged jobs.
// With ?replay=NAME it shows a recorded day from /ws/replay instead, read-only.
import { applyI18n, langToggle, onLangChange, register, t } from "/static/lib/i18n.js";
import { api, clearToken, LiveSocket, setToken, token as storedToken } from "/static/lib/session.js";
import { errorText } from "/static/lib/errors.js";
import { Alerts, beep, toast, unlockAudio } from "./dispatcher/alerts.js";
import { NewAlarms } from "./dispatcher/newalarm.js";
import { History } from "./dispatcher/history.js";
import { Detail, usable } from "./dispatcher/detail.js";
import { fmtTime, serverClock } from "./dispatcher/format.js";
import { bindKeys } from "./dispatcher/keys.js";
import { MapView } from "./dispatcher/mapview.js";
import { Panels } from "./dispatcher/panels.js";
import { DispatchStore, OPEN } from "./dispatcher/store.js";
import { TEXTS } from "./dispatcher/texts.js";
import { VisitsBoard } from "./dispatcher/visits.js";
import { foldable } from "./dispatcher/fold.js";

const KIND = "dispatch";
const $ = (id) => document.getElementById(id);
const replayName = new URLSearchParams(location.search).get("replay");
const UNIT_EVENTS = new Set(["UnitStatusChanged", "UnitAssigned", "AssignmentTimedOut", "AssignmentCancelled",
  "ShiftStarted", "ShiftEnded", "UnitPositionReported", "OutcomeRecorded", "CalloutCancelled", "UnitRegistered",
  "CalloutsMerged", "UnitUpdated", "UnitRetired"]);
const CLEARS_FLAG = new Set(["UnitAssigned", "AssignmentAcknowledged", "CalloutCancelled", "OutcomeRecorded",
  "CalloutsMerged", "UnitStatusChanged"]);

register(TEXTS);

const page = {
  token: null,
  socket: null,
  store: new DispatchStore(),
  selected: null,
  restore: null, // the callout selected before a reload (#callout=…), chosen again once it is known
  live: false,
  coverageOn: false,
  actors: new Map(),
  assigning: new Set(),
  map: null,
  panels: null,
  detail: null,
  alerts: null,
  dirty: { units: new Set(), callouts: new Set(), all: true },
  frame: 0,
  timers: {},
};

function debounce(name, ms, fn) {
  clearTimeout(page.timers[name]);
  page.timers[name] = setTimeout(fn, ms);
}

function unitName(id) {
  const unit = page.store.units.get(id);
  return unit ? unit.name : id;
}

// -- rendering ---------------------------------------------------------------------------

function scheduleRender() {
  if (!page.frame) page.frame = requestAnimationFrame(render);
}

function render() {
  page.frame = 0;
  const { store, map } = page;
  const now = serverClock.now();
  const dirty = page.dirty;
  page.dirty = { units: new Set(), callouts: new Set(), all: false };
  if (map) {
    const unitIds = dirty.all ? [...store.units.keys()] : [...dirty.units];
    for (const id of unitIds) {
      const unit = store.units.get(id);
      if (unit) map.setUnit(unit, unit.callout_id ? store.callouts.get(unit.callout_id) : null);
      else map.removeUnit(id); // retired
    }
    if (dirty.all) { // a new snapshot: drop markers of what it no longer has
      for (const id of [...map.callouts.keys()]) if (!store.callouts.has(id)) map.setCallout({ callout_id: id }, now, false);
      for (const id of [...map.units.keys()]) if (!store.units.has(id)) map.removeUnit(id);
    }
    const calloutIds = dirty.all ? [...store.callouts.keys()] : [...dirty.callouts];
    for (const id of calloutIds) {
      const c = store.callouts.get(id);
      if (c) map.setCallout(c, now, OPEN.has(c.status));
    }
  }
  page.panels.render(store, page.selected, now);
  page.alerts.render(unitName);
  const c = page.selected && store.callouts.get(page.selected);
  if (c) page.detail.show(c, store, now, page.actors);
}

function markDirty(changed) {
  for (const id of changed.units) page.dirty.units.add(id);
  for (const id of changed.callouts) page.dirty.callouts.add(id);
  scheduleRender();
}

// -- commands ----------------------------------------------------------------------------

/** Send a command; a toast says what was done (``done``) or why it failed. */
async function command(msg, { quiet = false, done = null } = {}) {
  try {
    const reply = await page.socket.send(msg);
    if (reply.type === "error") {
      toast($("toast"), t("toast.error", { message: errorText(reply) }), { error: true });
      return null;
    }
    if (!quiet) toast($("toast"), done || t("toast.done"));
    return reply;
  } catch (exc) {
    toast($("toast"), t("toast.error", { message: errorText(exc) }), { error: true });
    return null;
  }
}

async function loadRecommendations(calloutId) {
  const callout = page.store.callouts.get(calloutId);
  if (replayName || !page.socket || !callout || !OPEN.has(callout.status)) return null;
  const reply = await command({ type: "recommend", callout_id: calloutId }, { quiet: true });
  if (page.selected !== calloutId) return reply;
  page.detail.setRecommendations(reply ? { options: reply.options, current: reply.current } : { error: "–" });
  return reply;
}

async function loadHistory(calloutId) {
  if (replayName || !page.socket) return;
  const reply = await command({ type: "history", callout_id: calloutId }, { quiet: true });
  if (!reply) return;
  for (const [id, name] of Object.entries(reply.actors || {})) page.actors.set(id, name);
  page.store.addHistory(calloutId, reply.events, Boolean(reply.truncated));
  if (page.selected === calloutId) page.detail.renderTimeline(page.store, page.actors);
}

/** Which units are due by the rota but have no crew signed on (flagged in the unit list). */
async function loadRota() {
  if (replayName || !page.socket) return;
  const reply = await command({ type: "rota" }, { quiet: true });
  if (!reply || reply.type !== "rota") return;
  setRotaDue(reply.units.filter((u) => u.due_not_signed_on)
    .map((u) => ({ unit_id: u.unit_id, ...u.current })));
}

function setRotaDue(shifts) {
  page.store.setRotaDue(shifts);
  page.dirty.all = true;
  scheduleRender();
}

async function loadFollowUps() {
  if (replayName || !page.socket) return;
  const reply = await command({ type: "follow_ups" }, { quiet: true });
  if (!reply) return;
  serverClock.set(reply.at);
  page.store.setFollowUps(reply.follow_ups);
  scheduleRender();
}

async function showRoute(unitId, calloutId) {
  if (replayName) return;
  try {
    const route = await api(`/api/route?unit_id=${encodeURIComponent(unitId)}&callout_id=${encodeURIComponent(calloutId)}`,
      { token: page.token });
    const c = page.store.callouts.get(calloutId);
    if (page.selected === calloutId && c && c.unit_id === unitId) page.map.showRoute(route);
  } catch (exc) {
    toast($("toast"), t("toast.error", { message: errorText(exc) }), { error: true });
  }
}

/** Ask before taking a callout from the unit that has it: who has it and how far it is (its
 * own line in the recommendations, when they list it), against the unit that would take over.
 * Resolves true for "yes". */
function confirmReassign(callout, option) {
  const dialog = $("reassign-confirm");
  const mine = page.detail.current && page.detail.current.unit_id === callout.unit_id ? page.detail.current : null;
  const from = (mine && mine.name) || (page.store.units.get(callout.unit_id) || {}).name || callout.unit_id;
  const mins = (o) => (o && o.eta_min !== null && o.eta_min !== undefined ? String(Math.round(o.eta_min)) : "–");
  $("reassign-confirm-title").textContent = t("reassign.title", { callout: callout.callout_id });
  $("reassign-confirm-text").textContent = t("reassign.text", {
    from, status: t(`callout.${callout.status}`).toLowerCase(),
    eta: mine && mine.eta_min !== null ? t("reassign.eta", { min: mins(mine) }) : "",
    to: option.name, min: mins(option),
  });
  $("reassign-yes").textContent = t("reassign.yes", { to: option.name });
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.showModal();
  });
}

/** Assign (or reassign) option's unit; the UnitAssigned event that follows draws the route.
 * Taking a callout from a unit that has it is asked first. A second press while the first is
 * on its way does nothing. */
async function assignOption(calloutId, option) {
  const callout = page.store.callouts.get(calloutId);
  if (!usable(option, callout) || page.assigning.has(calloutId)) return false;
  page.assigning.add(calloutId);
  try {
    if (callout.unit_id && !(await confirmReassign(callout, option))) return false;
    const still = page.store.callouts.get(calloutId); // it may have moved while we asked
    if (!usable(option, still)) return false;
    const type = still.unit_id ? "reassign" : "assign";
    const reply = await command({ type, callout_id: calloutId, unit_id: option.unit_id }, { quiet: true });
    if (!reply) return false;
  } finally {
    page.assigning.delete(calloutId);
  }
  page.alerts.remove(calloutId);
  toast($("toast"), t("toast.assigned", { unit: option.name, callout: calloutId }));
  return true;
}

async function offerNext(item) {
  select(item.callout_id);
  const reply = await loadRecommendations(item.callout_id);
  const options = (reply && reply.options) || [];
  const callout = page.store.callouts.get(item.callout_id);
  const next = options.find((o) => usable(o, callout) && o.unit_id !== item.unit_id);
  if (next) await assignOption(item.callout_id, next);
  else toast($("toast"), t("rec.none"), { error: true });
}

// -- selection ---------------------------------------------------------------------------

/** The selected callout in the address (#callout=…, beside anything else there), so a reload
 * selects it again. */
function rememberSelection(calloutId) {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (calloutId) hash.set("callout", calloutId);
  else hash.delete("callout");
  const rest = hash.toString();
  const url = location.pathname + location.search + (rest ? `#${rest}` : "");
  if (url !== location.pathname + location.search + location.hash) history.replaceState(null, "", url);
}

function select(calloutId, { focus = false } = {}) {
  const callout = calloutId && page.store.callouts.get(calloutId);
  page.restore = null; // a choice made since the reload wins
  rememberSelection(callout ? calloutId : null);
  if (!callout) {
    page.selected = null;
    page.map.select(null);
    page.map.clearRoute();
    page.detail.clear();
    scheduleRender();
    return;
  }
  const changed = page.selected !== calloutId;
  page.selected = calloutId;
  page.newAlarms.seen(calloutId);
  if (changed) page.map.select(calloutId, { zoom: true, at: callout.location }); // zoom to it
  else page.map.select(calloutId);
  page.detail.show(callout, page.store, serverClock.now(), page.actors);
  scheduleRender();
  if (changed) {
    page.map.clearRoute();
    if (callout.unit_id) showRoute(callout.unit_id, calloutId);
    if (!page.store.complete.has(calloutId)) loadHistory(calloutId);
    loadRecommendations(calloutId);
  }
  if (focus) {
    requestAnimationFrame(() => {
      const btn = document.querySelector(`.callout-item[data-callout="${CSS.escape(calloutId)}"]`);
      if (btn) btn.focus();
    });
  }
}

/** A unit clicked on the board: on a callout, that callout with the unit's route; otherwise
 * the map zooms to the unit and shows its card. */
function selectUnit(unitId) {
  const unit = page.store.units.get(unitId);
  if (!unit) return;
  if (unit.callout_id && page.store.callouts.has(unit.callout_id)) select(unit.callout_id);
  page.map.showUnit(unitId);
}

/** Write a short message to a unit's crew (a dialog; the text is never logged). */
function messageUnit(unitId) {
  const unit = page.store.units.get(unitId);
  const dialog = $("message-dialog");
  $("message-title").textContent = t("message.title", { unit: unit ? unit.name : unitId });
  $("message-text").value = "";
  dialog.returnValue = "";
  dialog.addEventListener("close", async () => {
    const text = $("message-text").value.trim();
    if (dialog.returnValue !== "send" || !text) return;
    await command({ type: "message", unit_id: unitId, text },
      { done: t("toast.message", { unit: unit ? unit.name : unitId }) });
  }, { once: true });
  dialog.showModal();
  $("message-text").focus();
}

/** Show a callout from the history (closed or cancelled: not on the live board), with its
 * full timeline. */
async function openFinished(calloutId) {
  if (!page.store.callouts.has(calloutId)) {
    try {
      page.store.callouts.set(calloutId, await api(`/api/callouts/${encodeURIComponent(calloutId)}`, { token: page.token }));
    } catch (exc) {
      toast($("toast"), t("toast.error", { message: errorText(exc) }), { error: true });
      return;
    }
  }
  select(calloutId);
}

function moveSelection(delta) {
  const order = [...page.store.queue(), ...page.store.active()].map((c) => c.callout_id);
  if (!order.length) return;
  const at = order.indexOf(page.selected);
  const next = at < 0 ? (delta > 0 ? 0 : order.length - 1) : Math.min(order.length - 1, Math.max(0, at + delta));
  select(order[next], { focus: true });
}

async function toggleCoverage(on = !page.coverageOn) {
  page.coverageOn = on;
  $("coverage-toggle").setAttribute("aria-pressed", String(on));
  if (!on) {
    page.map.hideCoverage();
    return;
  }
  await refreshCoverage();
}

async function refreshCoverage() {
  if (!page.coverageOn || replayName) return;
  try {
    const data = await api("/api/coverage", { token: page.token });
    serverClock.set(data.at);
    if (page.coverageOn) page.map.showCoverage(data);
  } catch (exc) {
    toast($("toast"), t("toast.error", { message: errorText(exc) }), { error: true });
  }
}

// -- the live feed -----------------------------------------------------------------------

function onSnapshot(snapshot) {
  page.store.reset(snapshot);
  page.alerts.clear();
  for (const c of page.store.openCallouts()) {
    if (c.status === "waiting" && c.ack_overdue) page.alerts.flag({ callout_id: c.callout_id, unit_id: null, kind: "timeout" }, { loud: false });
  }
  page.dirty.all = true;
  scheduleRender();
  if (page.selected) {
    const still = page.store.callouts.get(page.selected);
    if (still) loadHistory(page.selected);
    else select(null);
  } else if (page.restore) {
    select(page.restore); // the callout selected before the reload, if it is still there
  }
}

function onEvent(msg) {
  const ev = msg.event;
  const fresh = ev.type === "AlarmReceived" && !page.store.callouts.has(ev.callout_id);
  const changed = page.store.apply(msg.seq, ev);
  if (!changed) return; // a repeat: already applied
  if (fresh && page.live && !replayName) page.newAlarms.arrived(ev.callout_id);
  if (ev.type === "AssistRequested" && page.live) { // a crew in danger: loud, until dismissed
    page.alerts.flag({ callout_id: `assist:${ev.unit_id}`, unit_id: ev.unit_id, kind: "assist", position: ev.position });
    setTimeout(beep, 1200);
  } else if (ev.type === "MessageSent" && ev.from_crew && page.live) {
    page.alerts.flag({ callout_id: `message:${ev.unit_id}`, unit_id: ev.unit_id, kind: "message", text: ev.text });
  }
  if (page.visits) page.visits.onEvent(ev);
  serverClock.atLeast(ev.at);
  markDirty(changed);
  const cid = ev.callout_id;
  if (ev.type === "AssignmentTimedOut" && page.live) {
    page.alerts.flag({ callout_id: cid, unit_id: ev.unit_id, kind: "timeout" });
  } else if (CLEARS_FLAG.has(ev.type)) {
    for (const id of changed.callouts) {
      const c = page.store.callouts.get(id);
      const flag = page.alerts.items.get(id);
      if (flag && c && (!OPEN.has(c.status) || (c.status !== "waiting" && c.unit_id !== flag.unit_id)
        || (flag.kind === "late" && c.status !== "assigned"))) page.alerts.remove(id);
    }
  }
  if (UNIT_EVENTS.has(ev.type)) {
    if (page.coverageOn) debounce("coverage", 1500, refreshCoverage);
    if (page.selected && ev.type !== "UnitPositionReported") {
      const sel = page.selected;
      debounce("recommend", 800, () => { if (page.selected === sel) loadRecommendations(sel); });
    }
  }
  if ((ev.type === "ShiftStarted" || ev.type === "ShiftEnded") && page.live) debounce("rota", 500, loadRota);
  if (ev.type === "CalloutsMerged" && page.selected === ev.source_id) select(ev.target_id);
  if (page.selected && changed.callouts.has(page.selected) && ev.actor !== "system" && !page.actors.has(ev.actor)) {
    const sel = page.selected; // someone new: the history reply names them
    debounce("history", 300, () => { if (page.selected === sel) loadHistory(sel); });
  }
  if (page.selected && changed.callouts.has(page.selected)) {
    const c = page.store.callouts.get(page.selected);
    if (ev.type === "UnitAssigned" && cid === page.selected && page.map.routeIds() !== `${ev.unit_id}|${cid}`) {
      showRoute(ev.unit_id, cid);
    } else if (c && (!c.unit_id || !OPEN.has(c.status))) {
      page.map.clearRoute();
    }
  }
}

function onPositions(items) {
  const changed = { units: new Set(), callouts: new Set() };
  for (const p of items) page.store.setPosition(p.unit_id, p.position, p.at, changed);
  if (!changed.units.size) return;
  markDirty(changed);
  if (page.coverageOn) debounce("coverage", 1500, refreshCoverage);
}

function onMessage(msg) {
  switch (msg.type) {
    case "snapshot":
      onSnapshot(msg);
      break;
    case "event":
      onEvent(msg);
      break;
    case "ready":
      if (!page.live) {
        page.live = true;
        for (const c of page.store.openCallouts()) {
          if (c.status === "waiting" && c.ack_overdue && !page.alerts.has(c.callout_id)) {
            page.alerts.flag({ callout_id: c.callout_id, unit_id: null, kind: "timeout" });
          }
        }
        loadFollowUps();
        loadRota();
        if (page.selected) loadHistory(page.selected);
      }
      break;
    case "alert":
      if (msg.kind === "ack_timeout") {
        page.alerts.flag({ callout_id: msg.callout_id, unit_id: msg.unit_id, kind: "timeout", next_best: msg.next_best },
          { loud: !page.alerts.has(msg.callout_id) });
      }
      break;
    case "rota_due":
      setRotaDue(msg.units);
      break;
    case "unit_position": // positions are not logged events: a message of their own
      onPositions([msg]);
      break;
    case "unit_positions": // every unit's position, after a resume with since=
      onPositions(msg.positions);
      break;
    case "clock": // a replay's: its time runs at its speed while it plays
      serverClock.set(msg.at, { rate: msg.playing === false ? 0 : Number(msg.speed) || 1 });
      break;
    case "error":
      if (msg.status === 401 || msg.status === 403) showLogin(errorText(msg));
      break;
    default:
      break;
  }
}

function onState(state) {
  const el = $("conn");
  el.dataset.state = state;
  el.dataset.i18n = `conn.${state}`;
  el.textContent = t(`conn.${state}`);
  if (state !== "open") page.live = false;
}

/** Flag assignments whose acknowledgement deadline has passed (the server's tick times them
 * out; this catches a stalled server or a lost alert). */
function checkDeadlines(now) {
  for (const c of page.store.openCallouts()) {
    if (c.status === "assigned" && c.ack_deadline && now.getTime() > Date.parse(c.ack_deadline) + 3000
      && !page.alerts.has(c.callout_id)) {
      page.alerts.flag({ callout_id: c.callout_id, unit_id: c.unit_id, kind: "late" });
    }
  }
}

// -- start-up ----------------------------------------------------------------------------

function showLogin(message) {
  if (page.socket) page.socket.close();
  page.socket = null;
  if (message) clearToken(KIND);
  $("login-error").hidden = !message;
  $("login-error").textContent = message ? t("login.refused", { message }) : "";
  $("login").hidden = false;
  $("app").hidden = true;
  $("token").focus();
}

async function start(tok) {
  page.token = tok;
  $("login").hidden = true;
  $("app").hidden = false;
  if (!page.map) page.map = new MapView($("map"), { onSelectCallout: (id) => select(id), now: () => serverClock.now() });
  page.map.invalidate();
  if (!page.map.bounds) {
    page.map.loadRoads(tok).catch((exc) => {
      if (exc.status === 401 || exc.status === 403) showLogin(errorText(exc));
      else toast($("toast"), t("toast.error", { message: errorText(exc) }), { error: true });
    });
  }
  const path = replayName ? `/ws/replay?name=${encodeURIComponent(replayName)}` : "/ws/dispatch";
  page.socket = new LiveSocket(path, { token: tok, onMessage, onState });
  page.socket.connect();
  if (!replayName) {
    page.visits = new VisitsBoard($("visits-board"), { token: tok, recs: $("recs"), summary: $("visits-summary"),
      unitOf: (id) => {
        const u = page.store.units.get(id);
        return u && u.callout_id ? { callout_id: u.callout_id, since: u.status_since } : null;
      } });
    page.visits.refresh();
  }
  if (replayName) {
    const container = $("replay-controls");
    container.hidden = false;
    import("/static/replay.js")
      .then((m) => m.mountReplay({ socket: page.socket, container, onReset: onSnapshot }))
      .catch((exc) => toast($("toast"), t("toast.error", { message: errorText(exc) }), { error: true }));
  }
}

function init() {
  applyI18n();
  langToggle($("lang-toggle"));
  if (replayName) {
    document.body.classList.add("replay");
    $("replay-title").hidden = false;
    $("replay-title").textContent = t("replay.title", { name: replayName });
    $("replay-title").title = replayName; // the whole name, where the title is cut
    // The history lists the live service's finished callouts, not the replayed log's.
    $("history-button").hidden = true;
  }
  page.panels = new Panels({ queue: $("queue"), active: $("active"), units: $("units"), followUps: $("followups"),
    queueCount: $("queue-count"), onSelectCallout: (id) => select(id), onSelectUnit: selectUnit,
    onMessageUnit: messageUnit });
  page.newAlarms = new NewAlarms($("sound-toggle"), { title: () => (replayName ? t("replay.title", { name: replayName }) : t("title")) });
  page.alerts = new Alerts($("alerts"), { onOffer: offerNext, onSelect: (id) => {
    const unit = /^(assist|message):(.+)$/.exec(id); // a crew's alarm or message: its unit
    if (unit) selectUnit(unit[2]);
    else select(id, { focus: true });
  } });
  // The day's visits fold to their heading, giving the map the height (remembered).
  foldable($("visits"), $("visits-toggle"), { key: "mae.dispatch.visits" });
  page.history = new History({ token: () => page.token, now: () => serverClock.now(), onOpen: openFinished });
  page.detail = new Detail(document.getElementById("detail"), {
    readOnly: Boolean(replayName),
    avoidUnit: (id) => (page.alerts.items.get(id) || {}).unit_id || null,
    onClose: () => select(null),
    onAssign: (i) => page.selected && assignOption(page.selected, page.detail.options[i]),
    onSplit: (alarmId) => {
      const cid = page.selected;
      return command({ type: "split", callout_id: cid, alarm_id: alarmId },
        { done: t("toast.split", { alarm: alarmId, callout: cid }) });
    },
    onMerge: (other) => {
      const cid = page.selected;
      return command({ type: "merge", target_id: cid, source_id: other },
        { done: t("toast.merged", { source: other, target: cid }) });
    },
    unit: (id) => page.store.units.get(id) || null,
    unitName: (id) => (page.store.units.get(id) ? page.store.units.get(id).name : id),
    onCancel: async (calloutId, code, reason) => Boolean(await command({ type: "cancel", callout_id: calloutId, code, reason },
      { done: t("toast.cancelled", { callout: calloutId }) })),
    onReopen: async (calloutId) => Boolean(await command({ type: "reopen", callout_id: calloutId },
      { done: t("toast.reopened", { callout: calloutId }) })),
    onNote: async (text) => {
      const cid = page.selected;
      return Boolean(await command({ type: "note", callout_id: cid, text }, { done: t("toast.noted", { callout: cid }) }));
    },
  });
  onLangChange(() => {
    page.newAlarms.render();
    if (page.map) page.map.relabel();
    if (replayName) $("replay-title").textContent = t("replay.title", { name: replayName });
    page.dirty.all = true;
    scheduleRender();
    if (page.detail.options.length) page.detail.renderOptions();
    if (page.coverageOn) refreshCoverage();
    if (page.visits) page.visits.render();
  });
  bindKeys({
    commandsAllowed: () => !replayName && Boolean(page.socket),
    move: moveSelection,
    pick: (i) => Boolean(page.selected) && page.detail.pick(i),
    assign: (target) => {
      const item = target instanceof HTMLElement ? target.closest(".callout-item") : null;
      if (!page.selected || (item && item.dataset.callout !== page.selected)) return false;
      assignOption(page.selected, page.detail.picked());
      return true;
    },
    coverage: () => toggleCoverage(),
    note: () => {
      if (!page.selected) return false;
      $("note-text").focus();
      return true;
    },
    escape: () => select(null),
    help: () => $("help").showModal(),
  });
  $("help-button").addEventListener("click", () => $("help").showModal());
  $("coverage-toggle").addEventListener("click", () => toggleCoverage());
  $("logout").addEventListener("click", () => {
    clearToken(KIND);
    showLogin(null);
  });
  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const tok = $("token").value.trim();
    if (!tok) return;
    setToken(KIND, tok);
    $("token").value = "";
    start(tok);
  });
  for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlockAudio, { passive: true });
  setInterval(() => {
    const now = serverClock.now();
    page.panels.tick(now, page.store);
    if (page.map) page.map.tickEscalation(now);
    for (const id of [...page.newAlarms.unseen]) { // looked at elsewhere, or no longer waiting
      const c = page.store.callouts.get(id);
      if (!c || c.status !== "waiting") page.newAlarms.seen(id);
    }
    page.detail.showReopen(now);
    $("server-clock").textContent = serverClock.offsetMs === null ? "" : fmtTime(now.toISOString());
    if (!replayName) checkDeadlines(now);
  }, 1000);
  setInterval(loadFollowUps, 60000);
  setInterval(loadRota, 60000);
  matchMedia("(max-width: 700px)").addEventListener("change", () => page.map && page.map.refit());
  const tok = storedToken(KIND);
  page.restore = new URLSearchParams(location.hash.replace(/^#/, "")).get("callout");
  if (tok) start(tok);
  else showLogin(null);
}

// For people and tests poking at the page: its store, map and panels.
window.maeDispatch = page;

init();
