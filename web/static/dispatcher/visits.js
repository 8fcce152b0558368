// The dispatcher's day of follow-up visits: a timeline per unit (timeline.js: visits, drives,
// break, the unit's acute callout), the visits at risk of missing their window, the postponed
// ones, and on each acute recommendation the visits taking that unit would push
// (GET /api/visits/pushed). It reads GET /api/visits/plan and refreshes on every visit or
// DayPlanned event.
import { register, t } from "/static/lib/i18n.js";
import { api } from "/static/lib/session.js";
import { errorText } from "/static/lib/errors.js";
import { fromStockholmLocal, toStockholmLocal } from "/static/lib/time.js";
import { fmtClock, serverClock } from "./format.js";
import { planCause } from "/static/lib/vocab.js";
import { Timeline, el } from "./timeline.js";

register({
  sv: {
    "visits.title": "Dagens besök",
    "visits.count": "({n})",
    "visits.count_risk": "({n} · {risk} riskerar)",
    "visits.none": "Inga planerade besök i dag.",
    "visits.risk": "Riskerar att missa fönstret",
    "visits.postponed": "Flyttade till annan dag",
    "visits.unplaced": "Får inte plats",
    "visits.pushes": "Skjuter upp besök: {ids}",
    "visits.pushes_none": "Inga besök påverkas",
    "visits.plan": "Plan {rev} ({cause}) {at}",
    "visits.window": "fönster {from}–{to}",
    "visits.pin_unit": "Lås till enhet",
    "visits.pin_time": "Lås till tid",
    "visits.any": "valfri",
    "visits.pin": "Lås",
    "visits.cancel": "Avboka",
    "visits.pinned": "Besök {id} låst.",
  },
  en: {
    "visits.title": "Today's visits",
    "visits.count": "({n})",
    "visits.count_risk": "({n} · {risk} at risk)",
    "visits.none": "No visits planned today.",
    "visits.risk": "At risk of missing their window",
    "visits.postponed": "Postponed to another day",
    "visits.unplaced": "Do not fit",
    "visits.pushes": "Pushes visits: {ids}",
    "visits.pushes_none": "No visits affected",
    "visits.plan": "Plan {rev} ({cause}) {at}",
    "visits.window": "window {from}–{to}",
    "visits.pin_unit": "Pin to unit",
    "visits.pin_time": "Pin to time",
    "visits.any": "any",
    "visits.pin": "Pin",
    "visits.cancel": "Cancel visit",
    "visits.pinned": "Visit {id} pinned.",
  },
});

const VISIT_EVENTS = new Set(["VisitBooked", "VisitMoved", "VisitPinned", "VisitCancelled", "VisitStarted",
  "VisitDone", "VisitNotMet", "DayPlanned", "UnitAssigned", "OutcomeRecorded"]);

/** Where a visit's button is: the name of its list, or "bars" for the timeline. */
function placeOf(button) {
  const list = button.closest("ul[data-list]");
  return list ? list.dataset.list : "bars";
}

export class VisitsBoard {
  /** container: where the board renders; recs: the recommendation list to annotate; summary:
   * where the day's count goes (in the board's heading, in view when the board is folded). */
  constructor(container, { token, recs, unitOf = () => null, summary = null,
    now = () => (serverClock.offsetMs === null ? null : serverClock.now()) }) {
    this.root = container;
    this.now = now; // the service's time (null until known): the timeline's scale covers it
    this.names = new Map(); // unit id -> name (GET /api/units): rows name units as the page does
    this.summary = summary;
    this.token = token;
    this.unitOf = unitOf; // unit id -> {callout_id, since} of its acute callout, if any
    this.plan = null;
    this.visits = [];
    this.pushed = new Map();
    this.timer = null;
    this.chosen = null; // the visit whose pin form is open
    this.pinStatus = new Map();
    this.pinDraft = new Map(); // visit id -> {unit, at} the dispatcher has chosen but not sent; a redraw keeps it
    // The bars' time scale; the clock moving it redraws the board, unless a pin is being
    // filled in (the next change redraws).
    this.timeline = new Timeline(container, { now, plan: () => this.plan,
      redraw: () => { if (!this._filling()) this.render(); } });
    container.addEventListener("click", (ev) => {
      const hit = ev.target instanceof Element ? ev.target.closest("[data-visit]") : null;
      if (hit && !hit.closest(".visit-pin")) {
        this.chosen = hit.dataset.visit;
        this.render();
        // the form opens under the board's lists: brought into view (the board scrolls)
        const form = this.root.querySelector(".visit-pin");
        if (form) form.scrollIntoView({ block: "nearest" });
      }
    });
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

  /** Reads the day's plan, the visits and the units' names again, then redraws (unless a pin
   * is being filled in); what is shown stays when offline or refused. */
  async refresh() {
    try {
      const [plan, visits, units] = await Promise.all([
        api("/api/visits/plan", { token: this.token }),
        api("/api/visits", { token: this.token }),
        // the units' names (ids where refused: the plan still shows)
        api("/api/units", { token: this.token }).catch(() => null),
      ]);
      this.plan = plan;
      this.visits = visits;
      if (units) this.names = new Map(units.map((u) => [u.unit_id, u.name]));
    } catch {
      return; // offline or refused: keep what is shown
    }
    this._summarize(); // the heading's count, even while a pin is being filled in
    if (this._filling()) return; // the next change redraws
    this.render();
    this.annotate();
  }

  /** A unit's name (as the rest of the page shows it), else its id. */
  unitName(unitId) {
    return this.names.get(unitId) || unitId;
  }

  /** Whether the dispatcher is filling in a pin (a field of the board has the focus): a redraw
   * then would lose what is being typed. */
  _filling() {
    const active = document.activeElement;
    return Boolean(active && ["INPUT", "SELECT"].includes(active.tagName) && this.root.contains(active));
  }

  /** Draws the board again from what was read: the plan's line, the timeline, the lists and
   * the chosen visit's pin form, the keyboard's focus kept where it was. */
  render() {
    const root = this.root;
    // A visit's bar or list entry that had the keyboard's focus has it again once redrawn.
    const active = document.activeElement;
    let focused = null;
    if (active && root.contains(active) && active.matches("button[data-visit]")) {
      const buttons = [...root.querySelectorAll("button[data-visit]")];
      focused = { visit: active.dataset.visit, place: placeOf(active), overall: buttons.indexOf(active),
        index: buttons.filter((b) => placeOf(b) === placeOf(active)).indexOf(active) };
    }
    this.timeline.clear();
    root.replaceChildren();
    this._summarize();
    const plan = this.plan;
    if (!plan) return;
    if (plan.revision) {
      root.append(el("p", "muted visits-plan", t("visits.plan", {
        rev: plan.revision, cause: planCause(t, plan.cause), at: plan.planned_at ? fmtClock(plan.planned_at) : "",
      })));
    }
    if (plan.routes.length) {
      this.timeline.draw(plan, { visits: this.visits, unitName: (id) => this.unitName(id), unitOf: (id) => this.unitOf(id) });
    }
    else root.append(el("p", "muted", t("visits.none")));
    const byId = new Map(this.visits.map((v) => [v.visit_id, v]));
    // Each entry is a button: it opens the visit's pin form (the board's click handler), from
    // the keyboard too.
    const list = (title, cls, items) => {
      if (!items.length) return;
      const head = el("h3", cls, title);
      head.id = `${cls}-title`;
      root.append(head);
      const ul = el("ul", `plain visit-list ${cls}`);
      ul.dataset.list = cls;
      ul.setAttribute("aria-labelledby", head.id);
      for (const v of items) {
        const open = el("button", "visit-entry", `${v.visit_id} · ${v.patient_ref} · ${v.location.label || ""} · ` +
          t("visits.window", { from: fmtClock(v.earliest_start), to: fmtClock(v.latest_start) }));
        open.type = "button";
        open.dataset.visit = v.visit_id;
        const li = el("li");
        li.append(open);
        ul.append(li);
      }
      root.append(ul);
    };
    list(t("visits.risk"), "visits-risk", this.visits.filter((v) => v.at_risk));
    list(t("visits.postponed"), "visits-postponed", this.visits.filter((v) => v.postponed));
    list(t("visits.unplaced"), "visits-unplaced",
      (plan.unplaced || []).map((id) => byId.get(id)).filter(Boolean));
    const chosen = byId.get(this.chosen);
    if (chosen) this._pinForm(chosen, plan);
    if (focused) this._refocus(focused);
  }

  /** The heading's count: today's visits (planned, and those that do not fit or are at risk)
   * and how many of them are at risk of missing their window (one that does not fit is), so
   * that a folded board still says whether it needs a look. */
  _summarize() {
    if (!this.summary) return;
    const plan = this.plan;
    if (!plan) {
      this.summary.textContent = "";
      delete this.summary.dataset.risk;
      return;
    }
    const risk = new Set([...this.visits.filter((v) => v.at_risk).map((v) => v.visit_id), ...(plan.unplaced || [])]);
    const today = new Set([...plan.routes.flatMap((r) => r.stops.map((s) => s.visit_id)), ...risk]);
    this.summary.textContent = risk.size
      ? t("visits.count_risk", { n: today.size, risk: risk.size })
      : t("visits.count", { n: today.size });
    this.summary.dataset.risk = String(risk.size);
  }

  /** After a redraw: the same visit in the same place (bars or list), else the same visit
   * elsewhere on the board; a visit gone leaves the focus on the button now where it was in
   * its place, or on the board, not lost to the page (where Enter would assign). */
  _refocus({ visit, place, index, overall }) {
    const buttons = [...this.root.querySelectorAll("button[data-visit]")];
    const here = buttons.filter((b) => placeOf(b) === place);
    let again = here.find((b) => b.dataset.visit === visit) || buttons.find((b) => b.dataset.visit === visit);
    if (!again) { // (a bar's visit gone too: focus left on the page would let Enter assign)
      again = here.length ? here[Math.min(index, here.length - 1)] : buttons[Math.min(overall, buttons.length - 1)];
    }
    if (again) again.focus();
  }

  /** A dispatcher pins the chosen visit to a unit and/or a time (or cancels it). */
  _pinForm(v, plan) {
    const form = el("form", "visit-pin stack");
    form.dataset.visit = v.visit_id;
    form.append(el("strong", "", `${v.visit_id} · ${v.patient_ref} · ` +
      t("visits.window", { from: fmtClock(v.earliest_start), to: fmtClock(v.latest_start) })));
    const unitLabel = el("label", "", t("visits.pin_unit"));
    const unit = el("select", "visit-pin-unit");
    unit.append(new Option(t("visits.any"), ""));
    const draft = this.pinDraft.get(v.visit_id);
    const chosen = draft ? draft.unit : v.pinned_unit || "";
    for (const r of plan.routes) unit.append(new Option(this.unitName(r.unit_id), r.unit_id, false, r.unit_id === chosen));
    unitLabel.append(unit);
    const timeLabel = el("label", "", t("visits.pin_time"));
    const at = el("input", "visit-pin-time");
    at.type = "datetime-local";
    at.value = draft ? draft.at : v.pinned_start ? toStockholmLocal(v.pinned_start) : "";
    const keep = () => this.pinDraft.set(v.visit_id, { unit: unit.value, at: at.value });
    unit.addEventListener("change", keep);
    at.addEventListener("input", keep);
    timeLabel.append(at);
    const pin = el("button", "visit-pin-button", t("visits.pin"));
    pin.type = "submit";
    const cancel = el("button", "visit-cancel-button danger", t("visits.cancel"));
    cancel.type = "button";
    const status = el("p", "muted visit-pin-status", this.pinStatus.get(v.visit_id) || "");
    status.setAttribute("role", "status");
    form.append(unitLabel, timeLabel, pin, cancel, status);
    const send = async (path, body) => {
      try {
        await api(`/api/visits/${encodeURIComponent(v.visit_id)}/${path}`, { method: "POST", body, token: this.token });
        this.pinDraft.delete(v.visit_id);
        status.textContent = t("visits.pinned", { id: v.visit_id });
        this.pinStatus.set(v.visit_id, status.textContent); // kept over the redraw it causes
        if (form.contains(document.activeElement)) document.activeElement.blur();
      } catch (exc) {
        status.textContent = errorText(exc);
      }
    };
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const when = at.value ? fromStockholmLocal(at.value) : null;
      send("pin", { unit_id: unit.value || null, start: when ? when.toISOString() : null });
    });
    cancel.addEventListener("click", () => send("cancel", { reason: "" }));
    this.root.append(form);
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
