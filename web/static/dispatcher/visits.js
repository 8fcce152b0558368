// The dispatcher's day of follow-up visits: a timeline per unit (visits, drives, break, the
// unit's acute callout), the visits at risk of missing their window, the postponed ones, and
// on each acute recommendation the visits taking that unit would push (GET /api/visits/pushed).
// It reads GET /api/visits/plan and refreshes on every visit or DayPlanned event.
import { register, t } from "/static/lib/i18n.js";
import { api } from "/static/lib/session.js";
import { fmtTime } from "./format.js";

register({
  sv: {
    "visits.title": "Dagens besök",
    "visits.none": "Inga planerade besök i dag.",
    "visits.risk": "Riskerar att missa fönstret",
    "visits.postponed": "Flyttade till annan dag",
    "visits.unplaced": "Får inte plats",
    "visits.pushes": "Skjuter upp besök: {ids}",
    "visits.pushes_none": "Inga besök påverkas",
    "visits.break": "Rast",
    "visits.callout": "Akut uppdrag",
    "visits.plan": "Plan {rev} ({cause}) {at}",
    "visits.window": "fönster {from}–{to}",
  },
  en: {
    "visits.title": "Today's visits",
    "visits.none": "No visits planned today.",
    "visits.risk": "At risk of missing their window",
    "visits.postponed": "Postponed to another day",
    "visits.unplaced": "Do not fit",
    "visits.pushes": "Pushes visits: {ids}",
    "visits.pushes_none": "No visits affected",
    "visits.break": "Break",
    "visits.callout": "Acute callout",
    "visits.plan": "Plan {rev} ({cause}) {at}",
    "visits.window": "window {from}–{to}",
  },
});

const VISIT_EVENTS = new Set(["VisitBooked", "VisitMoved", "VisitPinned", "VisitCancelled", "VisitStarted",
  "VisitDone", "VisitNotMet", "DayPlanned", "UnitAssigned", "OutcomeRecorded"]);

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class VisitsBoard {
  /** container: where the board renders; recs: the recommendation list to annotate. */
  constructor(container, { token, recs, unitOf = () => null }) {
    this.root = container;
    this.token = token;
    this.unitOf = unitOf; // unit id -> {callout_id, status} of its acute callout, if any
    this.plan = null;
    this.visits = [];
    this.pushed = new Map();
    this.timer = null;
    if (recs) {
      this.recs = recs;
      new MutationObserver(() => this.annotate()).observe(recs, { childList: true });
    }
  }

  /** Visits or plans changed: read them again soon (a burst of events, one request). */
  onEvent(ev) {
    if (!VISIT_EVENTS.has(ev.type)) return;
    this.pushed.clear();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 250);
  }

  async refresh() {
    try {
      const [plan, visits] = await Promise.all([
        api("/api/visits/plan", { token: this.token }),
        api("/api/visits", { token: this.token }),
      ]);
      this.plan = plan;
      this.visits = visits;
    } catch {
      return; // offline or refused: keep what is shown
    }
    this.render();
    this.annotate();
  }

  render() {
    const root = this.root;
    root.replaceChildren();
    const plan = this.plan;
    if (!plan || (!plan.routes.length && !this.visits.length)) {
      root.append(el("p", "muted", t("visits.none")));
      return;
    }
    root.append(el("p", "muted visits-plan", t("visits.plan", {
      rev: plan.revision, cause: plan.cause || "–", at: plan.planned_at ? fmtTime(plan.planned_at) : "",
    })));
    const byId = new Map(this.visits.map((v) => [v.visit_id, v]));
    const times = plan.routes.flatMap((r) => [Date.parse(r.depart), Date.parse(r.back)]);
    const from = Math.min(...times);
    const span = Math.max(1, Math.max(...times) - from);
    const pos = (iso) => `${(100 * (Date.parse(iso) - from)) / span}%`;
    const width = (a, b) => `${Math.max(0.8, (100 * (Date.parse(b) - Date.parse(a))) / span)}%`;
    for (const route of plan.routes) {
      const row = el("div", "visit-row");
      row.dataset.unit = route.unit_id;
      row.append(el("span", "visit-unit", route.unit_id));
      const bar = el("div", "visit-bar");
      for (const stop of route.stops) {
        const drive = el("span", "seg drive");
        drive.style.left = pos(stop.arrival);
        drive.style.width = "0.6%";
        bar.append(drive);
        const v = byId.get(stop.visit_id);
        const seg = el("span", `seg visit${v && v.at_risk ? " risk" : ""}${v && v.status === "started" ? " started" : ""}`,
          stop.visit_id);
        seg.dataset.visit = stop.visit_id;
        seg.title = `${stop.visit_id} ${fmtTime(stop.start)}–${fmtTime(stop.end)}` +
          (v ? ` (${t("visits.window", { from: fmtTime(v.earliest_start), to: fmtTime(v.latest_start) })})` : "");
        seg.style.left = pos(stop.start);
        seg.style.width = width(stop.start, stop.end);
        bar.append(seg);
      }
      if (route.break_start) {
        const brk = el("span", "seg break", t("visits.break"));
        brk.style.left = pos(route.break_start);
        brk.style.width = width(route.break_start, route.break_end);
        bar.append(brk);
      }
      const acute = this.unitOf(route.unit_id);
      if (acute) row.append(el("span", "visit-acute", `${t("visits.callout")} ${acute}`));
      row.append(bar);
      root.append(row);
    }
    const list = (title, cls, items) => {
      if (!items.length) return;
      root.append(el("h3", cls, title));
      const ul = el("ul", `plain ${cls}`);
      for (const v of items) {
        const li = el("li", "", `${v.visit_id} · ${v.patient_ref} · ${v.location.label || ""} · ` +
          t("visits.window", { from: fmtTime(v.earliest_start), to: fmtTime(v.latest_start) }));
        li.dataset.visit = v.visit_id;
        ul.append(li);
      }
      root.append(ul);
    };
    list(t("visits.risk"), "visits-risk", this.visits.filter((v) => v.at_risk));
    list(t("visits.postponed"), "visits-postponed", this.visits.filter((v) => v.postponed));
    list(t("visits.unplaced"), "visits-unplaced",
      (plan.unplaced || []).map((id) => byId.get(id)).filter(Boolean));
  }

  /** Under each recommended unit: the visits taking it now would push. */
  async annotate() {
    if (!this.recs) return;
    for (const li of this.recs.querySelectorAll("li[data-unit]")) {
      const unit = li.dataset.unit;
      if (li.querySelector(".rec-visits")) continue;
      let ids = this.pushed.get(unit);
      if (ids === undefined) {
        try {
          ids = (await api(`/api/visits/pushed?unit_id=${encodeURIComponent(unit)}`, { token: this.token })).visits;
        } catch {
          ids = null;
        }
        this.pushed.set(unit, ids);
      }
      if (ids === null || li.querySelector(".rec-visits")) continue;
      li.append(el("div", `rec-visits${ids.length ? " pushes" : ""}`,
        ids.length ? t("visits.pushes", { ids: ids.join(", ") }) : t("visits.pushes_none")));
    }
  }
}
