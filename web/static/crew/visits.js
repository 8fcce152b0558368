// The crew's follow-up visits of the day: in route order with address, window and planned
// arrival; start / done / not met go through the outbox (so they work offline, exactly once);
// a change of the plan after a re-plan is flagged until the crew marks it seen. The unit's
// route comes from GET /api/visits/plan and DayPlanned events, and is kept with the rest of the
// unit's stored state (crew.js saves it per unit and forgets it with the unit's job and
// outbox), so a reload without a connection still shows the day.
import { register, t } from "/static/lib/i18n.js";
import { api } from "/static/lib/session.js";
import { errorText } from "/static/lib/errors.js";
import { fmtKm, fmtTime, stepParts } from "/static/crew/jobview.js";
import { planCause } from "/static/lib/vocab.js";

register({
  sv: {
    "visits.title": "Dagens besök",
    "visits.none": "Inga planerade besök.",
    "visits.changed": "Planen är ändrad ({cause}). Kontrollera besöken.",
    "visits.seen": "Sett",
    "visits.window": "Fönster {from}–{to}",
    "visits.arrival": "Planerad ankomst {at}",
    "visits.start": "Påbörja",
    "visits.done": "Klart",
    "visits.not_met": "Ej träffad",
    "visits.status.booked": "Bokat",
    "visits.status.started": "Pågår",
    "visits.status.done": "Klart",
    "visits.status.not_met": "Ej träffad",
    "visits.status.cancelled": "Avbokat",
    "visits.pending": "väntar på att skickas",
    "visits.moved": "ändrad",
    "item.visit": "Besök {id}: {action}",
    "visits.route": "Vägbeskrivning",
    "visits.route_total": "{km} km, cirka {min} min",
    "visits.route_error": "Ingen vägbeskrivning: {message}",
  },
  en: {
    "visits.title": "Today's visits",
    "visits.none": "No visits planned.",
    "visits.changed": "The plan has changed ({cause}). Check your visits.",
    "visits.seen": "Seen",
    "visits.window": "Window {from}–{to}",
    "visits.arrival": "Planned arrival {at}",
    "visits.start": "Start",
    "visits.done": "Done",
    "visits.not_met": "Not met",
    "visits.status.booked": "Booked",
    "visits.status.started": "Under way",
    "visits.status.done": "Done",
    "visits.status.not_met": "Not met",
    "visits.status.cancelled": "Cancelled",
    "visits.pending": "waiting to be sent",
    "visits.moved": "changed",
    "item.visit": "Visit {id}: {action}",
    "visits.route": "Directions",
    "visits.route_total": "{km} km, about {min} min",
    "visits.route_error": "No directions: {message}",
  },
});

const AFTER = { start: "started", done: "done", not_met: "not_met" };
const FINISHED = new Set(["done", "not_met"]); // a visit the crew finished (it leaves the day)

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A route's shape for change detection: the visits in order with their planned starts. */
function signature(route) {
  return route ? route.stops.map((s) => `${s.visit_id}@${s.start}`).join(",") : "";
}

export class CrewVisits {
  /** ``store()`` returns the unit's stored state object (the day lives under its ``visits``)
   * and ``persist()`` saves it. */
  constructor({ root, enqueue, pending, store, persist }) {
    this.root = root;
    this.enqueue = enqueue;
    this.store = store;
    this.persist = persist;
    this.pending = pending; // the outbox's items (visit reports not yet sent are shown as done)
    this.unitId = null;
    this.token = null;
    this.data = { route: null, visits: {}, flag: null, changed: [] };
    this.directions = new Map(); // visit id -> its lines in the page's language (not stored)
  }

  /** The road route from the unit to a visit, as lines of steps under it. */
  async showRoute(visitId) {
    try {
      const r = await api(`/api/visits/${encodeURIComponent(visitId)}/route`, { token: this.token });
      this.directions.set(visitId, () => [
        t("visits.route_total", { km: fmtKm(r.distance_m), min: Math.round(r.duration_s / 60) }),
        ...r.steps.map((s) => stepParts(s).filter(Boolean).join(" "))]);
    } catch (exc) {
      this.directions.set(visitId, () => [t("visits.route_error", { message: errorText(exc) })]);
    }
    this.render();
  }

  bind(unitId, token) {
    this.token = token;
    this.unitId = unitId;
    const held = this.store();
    this.data = { route: null, visits: {}, flag: null, changed: [], ...((held && held.visits) || {}) };
    this.render();
  }

  _save() {
    const held = this.store();
    if (!held || !this.unitId) return;
    held.visits = this.data;
    this.persist();
  }

  /** Read the unit's day from the server (when connected). */
  async load() {
    if (!this.token) return;
    let plan;
    try {
      plan = await api("/api/visits/plan", { token: this.token });
    } catch {
      return; // offline: keep the stored day
    }
    const route = plan.routes.find((r) => r.unit_id === this.unitId) || null;
    this._take(route, plan.cause, plan.revision);
    this.data.visits = Object.fromEntries(plan.visits.map((v) => [v.visit_id, v]));
    this._save();
    this.render();
  }

  /** Whether the crew finished ``visitId`` (done or not met: reported here, or so on the server). */
  _finished(visitId) {
    const { status } = this._status(visitId);
    return FINISHED.has(status) || (this.data.finished || []).includes(visitId);
  }

  /** Take the unit's ``route`` of a plan. A change is flagged, except the crew's own finished
   * visits leaving the list: that is no change of plan to warn the crew about. */
  _take(route, cause, revision) {
    const kept = route ? new Set(route.stops.map((s) => s.visit_id)) : new Set();
    const prior = this.data.route;
    const before = prior && { ...prior,
      stops: prior.stops.filter((s) => kept.has(s.visit_id) || !this._finished(s.visit_id)) };
    if (before && signature(before) !== signature(route) && (revision ?? 0) !== this.data.revision) {
      const old = new Map(before.stops.map((s) => [s.visit_id, s.start]));
      this.data.changed = (route ? route.stops : []).filter((s) => old.get(s.visit_id) !== s.start)
        .map((s) => s.visit_id);
      this.data.flag = cause || "re-plan";
    }
    this.data.route = route;
    this.data.finished = (this.data.finished || []).filter((id) => kept.has(id)); // left: forgotten
    if (revision !== undefined) this.data.revision = revision;
  }

  onEvent(ev) {
    if (ev.type === "DayPlanned") {
      const route = (ev.routes || []).find((r) => r.unit_id === this.unitId) || null;
      const shaped = route ? { ...route, stops: route.stops.map((s) => ({ ...s })) } : null;
      this._take(shaped, ev.cause, (this.data.revision || 0) + 1);
      this._save();
      this.render();
      this.load();
    } else if (ev.type && ev.type.startsWith("Visit")) {
      this.load();
    }
  }

  /** The status shown: the server's, moved on by reports still waiting in the outbox. */
  _status(visitId) {
    let status = (this.data.visits[visitId] || {}).status || "booked";
    let waiting = false;
    for (const item of this.pending()) {
      if (item.msg.type === "visit" && item.msg.visit_id === visitId) {
        status = AFTER[item.msg.action];
        waiting = true;
      }
    }
    return { status, waiting };
  }

  report(action, visitId) {
    if (FINISHED.has(AFTER[action])) this.data.finished = [...(this.data.finished || []), visitId];
    this._save();
    this.enqueue({ type: "visit", action, visit_id: visitId });
    this.render();
  }

  seen() {
    this.data.flag = null;
    this.data.changed = [];
    this._save();
    this.render();
  }

  itemText(msg) {
    return t("item.visit", { id: msg.visit_id, action: t(`visits.${msg.action}`) });
  }

  render() {
    const root = this.root;
    if (!root) return;
    root.replaceChildren(el("h2", "", t("visits.title")));
    root.dataset.revision = String(this.data.revision || 0); // the plan shown (tests wait on it)
    if (this.data.flag) {
      const box = el("div", "visits-changed notice warn");
      box.setAttribute("role", "alert");
      box.append(el("span", "", t("visits.changed", { cause: planCause(t, this.data.flag) })));
      const ok = el("button", "visits-seen", t("visits.seen"));
      ok.type = "button";
      ok.addEventListener("click", () => this.seen());
      box.append(ok);
      root.append(box);
    }
    const stops = this.data.route ? this.data.route.stops : [];
    if (!stops.length) {
      root.append(el("p", "muted", t("visits.none")));
      return;
    }
    const list = el("ol", "visit-list");
    for (const stop of stops) {
      const v = this.data.visits[stop.visit_id] || {};
      const { status, waiting } = this._status(stop.visit_id);
      const li = el("li", `visit-item status-${status}${this.data.changed.includes(stop.visit_id) ? " changed" : ""}`);
      li.dataset.visit = stop.visit_id;
      li.dataset.status = status;
      const head = el("div", "visit-head");
      head.append(el("strong", "", `${fmtTime(stop.start)} ${v.location ? v.location.label || "" : ""}`),
        el("span", "badge info", t(`visits.status.${status}`)));
      if (this.data.changed.includes(stop.visit_id)) head.append(el("span", "badge warn", t("visits.moved")));
      li.append(head);
      li.append(el("div", "muted", `${stop.visit_id} · ${v.patient_ref || ""}`));
      if (v.earliest_start) {
        li.append(el("div", "", t("visits.window", { from: fmtTime(v.earliest_start), to: fmtTime(v.latest_start) })));
      }
      li.append(el("div", "", t("visits.arrival", { at: fmtTime(stop.arrival) })));
      if (waiting) li.append(el("div", "muted", t("visits.pending")));
      const buttons = el("div", "visit-buttons");
      const add = (action) => {
        const b = el("button", `visit-${action}`, t(`visits.${action}`));
        b.type = "button";
        b.dataset.action = action;
        b.addEventListener("click", () => this.report(action, stop.visit_id));
        buttons.append(b);
      };
      if (status === "booked") {
        const route = el("button", "visit-route", t("visits.route"));
        route.type = "button";
        route.addEventListener("click", () => this.showRoute(stop.visit_id));
        buttons.append(route);
        add("start");
        add("not_met");
      } else if (status === "started") {
        add("done");
        add("not_met");
      }
      li.append(buttons);
      const lines = this.directions.get(stop.visit_id);
      if (lines) {
        const steps = el("ol", "visit-steps");
        for (const line of lines()) steps.append(el("li", "", line));
        li.append(steps);
      }
      list.append(li);
    }
    root.append(list);
  }
}
