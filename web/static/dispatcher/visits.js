// The dispatcher's day of follow-up visits: a timeline per unit (visits, drives, break, the
// unit's acute callout), the visits at risk of missing their window, the postponed ones, and
// on each acute recommendation the visits taking that unit would push (GET /api/visits/pushed).
// It reads GET /api/visits/plan and refreshes on every visit or DayPlanned event.
import { register, t } from "/static/lib/i18n.js";
import { api } from "/static/lib/session.js";
import { errorText } from "/static/lib/errors.js";
import { fromStockholmLocal, stockholmOffsetMs, toStockholmLocal } from "/static/lib/time.js";
import { fmtClock, serverClock } from "./format.js";
import { planCause } from "/static/lib/vocab.js";

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
    "visits.break": "Rast",
    "visits.callout": "Akut uppdrag",
    "visits.before": "började före tidslinjen",
    "visits.after": "fortsätter efter tidslinjen",
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
    "visits.break": "Break",
    "visits.callout": "Acute callout",
    "visits.before": "began before the timeline",
    "visits.after": "continues after the timeline",
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

/** How long the planner expects an acute callout to keep a unit (PlanningConfig.callout_busy_s). */
const BUSY_MS = 90 * 60 * 1000;

const VISIT_EVENTS = new Set(["VisitBooked", "VisitMoved", "VisitPinned", "VisitCancelled", "VisitStarted",
  "VisitDone", "VisitNotMet", "DayPlanned", "UnitAssigned", "OutcomeRecorded"]);


/** The scale's ticks are this many minutes apart: the least that keeps their labels apart. */
const TICK_STEPS_MIN = [30, 60, 120, 180, 240, 360, 720];
const HALF_HOUR_MS = 30 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How often the board looks whether the clock has moved its scale (no event says so). */
const CLOCK_CHECK_MS = 30 * 1000;
/** The least width of a block on the timeline (% of the bar): a moment stays in sight. */
const LEAST_PCT = 0.8;

/**
 * The timeline's span (ms): from the half hour before the first of now and the plan's
 * departures to the half hour after the last of now and its returns. A plan made earlier in
 * the day (or none of whose units has left yet) does not leave now off the scale: the scale
 * moves with the clock. ``now`` is null while the service's time is not known yet (the page's
 * own clock may be another day), and left out if a day or more from the plan.
 */
function timelineRange(plan, now) {
  const times = plan.routes.flatMap((r) => [Date.parse(r.depart), Date.parse(r.back)])
    .filter(Number.isFinite);
  const nowShown = now !== null && !(times.length
    && (now < Math.min(...times) - DAY_MS || now > Math.max(...times) + DAY_MS));
  const first = Math.min(...times, ...(nowShown ? [now] : []));
  const from = Math.floor(first / HALF_HOUR_MS) * HALF_HOUR_MS;
  let to = Math.ceil(Math.max(...times, from) / HALF_HOUR_MS) * HALF_HOUR_MS;
  if (nowShown) to = Math.max(to, Math.floor(now / HALF_HOUR_MS) * HALF_HOUR_MS + HALF_HOUR_MS); // now inside, not on the end
  return { from, to: Math.max(from + HALF_HOUR_MS, to), nowShown };
}

/** Where a block from ``a`` to ``b`` (ms) lies on a bar from ``from`` to ``to``: its left and
 * width (% of the bar), clipped to the bar (a block outside it kept at its edge, at least
 * LEAST_PCT wide), and whether it began before the bar or continues after it. */
function placeOn(from, to, a, b) {
  const span = to - from;
  const at = (ms) => Math.min(100, Math.max(0, (100 * (ms - from)) / span));
  let left = at(a);
  const width = Math.max(LEAST_PCT, at(b) - left);
  left = Math.min(left, 100 - width);
  return { left, width, before: a < from, after: b > to };
}

/** The shortest name of a visit or callout, for a block too narrow for its id: "V000001" is
 * "V1". */
function shortName(id) {
  return String(id).replace(/^([A-Za-z]*)0+(?=\d)/, "$1");
}

/** The visits' and callouts' blocks in ``root`` show their ids, or the short names where an id
 * does not fit, or nothing where neither does (never a name cut off; the block's title, and a
 * visit's accessible name, give the id whole). Checked again whenever the bars change width. */
function fitNames(root) {
  for (const seg of root.querySelectorAll(".visit-bar .seg[data-name]")) {
    const id = seg.dataset.name;
    for (const text of [id, shortName(id), ""]) {
      seg.textContent = text;
      if (seg.scrollWidth <= seg.clientWidth) break;
    }
  }
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Where a visit's button is: the name of its list, or "bars" for the timeline. */
function placeOf(button) {
  const list = button.closest("ul[data-list]");
  return list ? list.dataset.list : "bars";
}

/** Every half hour from ``from`` to ``to`` (ms): its instant and what Stockholm's clock shows
 * then (ms since the epoch read as UTC). The clock moves by whole hours, so its half hours are
 * these instants, on either side of a switch to or from summer time. */
function halfHours(from, to) {
  const out = [];
  for (let at = Math.ceil(from / HALF_HOUR_MS) * HALF_HOUR_MS; at <= to; at += HALF_HOUR_MS) {
    out.push({ at, wall: at + stockholmOffsetMs(at) });
  }
  return out;
}

/** The instants of ``grid`` (halfHours) on which Stockholm's clock shows a multiple of ``step``
 * ms since its midnight: 00, 02, 04… for two hours, counted on the clock on both sides of a
 * switch (the spring's skipped hour has none; a reading of the autumn's repeated hour shown
 * less than a step before is not shown again). */
function roundTimes(grid, step) {
  const out = [];
  let last = null;
  for (const { at, wall } of grid) {
    if (((wall % DAY_MS) + DAY_MS) % DAY_MS % step) continue;
    if (last && wall <= last.wall && at - last.at < step) continue;
    out.push(at);
    last = { at, wall };
  }
  return out;
}

/**
 * The scale's ticks in ``track`` for the timeline from ``from`` to ``to`` (ms, both on a whole
 * or half hour): HH:MM at round times of Stockholm's clock, every half hour or every 1, 2, 3…
 * hours, the closest that leave a gap between labels at the track's width. A label is centred
 * on its time, or ends at it near the track's right end (the board does not scroll sideways).
 */
function drawTicks(track, from, to) {
  const width = track.clientWidth || 240; // hidden: redrawn once it has a width
  const probe = el("span", "visit-tick-label", "00:00");
  track.replaceChildren(probe);
  const label = probe.offsetWidth || 36;
  const least = 1.6 * label;
  const span = to - from;
  const grid = halfHours(from, to);
  let times = [];
  for (const minutes of TICK_STEPS_MIN) {
    times = roundTimes(grid, minutes * 60 * 1000);
    if ((minutes * 60 * 1000 * width) / span >= least) break;
  }
  if (times.length < 2 && width >= least) times = [from, to];
  if (!times.length) times = [from];
  track.replaceChildren(...times.map((at) => {
    const tick = el("span", "visit-tick");
    tick.style.left = `${(100 * (at - from)) / span}%`;
    if (((at - from) * width) / span + label / 2 > width) tick.classList.add("end");
    tick.append(el("span", "visit-tick-label", fmtClock(new Date(at).toISOString())));
    return tick;
  }));
  track.dataset.width = String(width);
}

export class VisitsBoard {
  /** container: where the board renders; recs: the recommendation list to annotate; summary:
   * where the day's count goes (in the board's heading, in view when the board is folded). */
  constructor(container, { token, recs, unitOf = () => null, summary = null,
    now = () => (serverClock.offsetMs === null ? null : serverClock.now()) }) {
    this.root = container;
    this.now = now; // the service's time (null until known): the timeline's scale covers it
    this.names = new Map(); // unit id -> name (GET /api/units): rows name units as the page does
    this.range = null; // the timeline's span as drawn
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
    // The scale's ticks follow the board's width (a window resized, a panel shown): the
    // track of the latest redraw is watched.
    this.scaleWatch = typeof ResizeObserver === "function" ? new ResizeObserver((entries) => {
      for (const { target } of entries) {
        if (target.isConnected && target.clientWidth && String(target.clientWidth) !== target.dataset.width) {
          drawTicks(target, Number(target.dataset.from), Number(target.dataset.to));
          fitNames(this.root);
        }
      }
    }) : null;
    // The clock moves the scale (and the mark of now) with no event to say so: looked at
    // every CLOCK_CHECK_MS, redrawn when the span changed. A board made again for the same
    // container (a new login) stops the old one's clock.
    container.maeVisitsBoard = this;
    this.clock = setInterval(() => {
      if (container.maeVisitsBoard !== this) clearInterval(this.clock);
      else this.followClock();
    }, CLOCK_CHECK_MS);
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
    const active = document.activeElement;
    if (active && ["INPUT", "SELECT"].includes(active.tagName) && this.root.contains(active)) {
      return; // the dispatcher is filling in a pin: the next change redraws
    }
    this.render();
    this.annotate();
  }

  /** A unit's name (as the rest of the page shows it), else its id. */
  unitName(unitId) {
    return this.names.get(unitId) || unitId;
  }

  /** The clock moved: the mark of now follows, and the board is redrawn if the scale's span
   * changed (not while the dispatcher fills in a pin: the next change redraws). */
  followClock() {
    if (!this.plan || !this.plan.routes.length || !this.range) return;
    const clock = this.now();
    const now = clock ? clock.getTime() : null;
    const { from, to, nowShown } = timelineRange(this.plan, now);
    if (from === this.range.from && to === this.range.to && nowShown === this.range.nowShown) {
      if (!nowShown) return;
      for (const mark of this.root.querySelectorAll(".visit-now")) {
        mark.style.left = `${placeOn(from, to, now, now).left}%`;
      }
      return;
    }
    const active = document.activeElement;
    if (active && ["INPUT", "SELECT"].includes(active.tagName) && this.root.contains(active)) return;
    this.render();
  }

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
    if (this.scaleWatch) this.scaleWatch.disconnect();
    root.replaceChildren();
    this.range = null;
    this._summarize();
    const plan = this.plan;
    if (!plan) return;
    if (plan.revision) {
      root.append(el("p", "muted visits-plan", t("visits.plan", {
        rev: plan.revision, cause: planCause(t, plan.cause), at: plan.planned_at ? fmtClock(plan.planned_at) : "",
      })));
    }
    if (plan.routes.length) this._timeline(plan);
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

  /** A row per unit on one scale: its drives, visits, break and acute callout, and a mark at
   * now; every block clipped to the bar (one that began before it or continues after it is
   * marked so at that edge). */
  _timeline(plan) {
    const root = this.root;
    const byId = new Map(this.visits.map((v) => [v.visit_id, v]));
    const clock = this.now();
    const now = clock ? clock.getTime() : null;
    const { from, to, nowShown } = timelineRange(plan, now);
    this.range = { from, to, nowShown };
    const place = (node, a, b) => {
      const at = placeOn(from, to, typeof a === "number" ? a : Date.parse(a), typeof b === "number" ? b : Date.parse(b));
      node.style.left = `${at.left}%`;
      node.style.width = `${at.width}%`;
      node.classList.toggle("cut-start", at.before);
      node.classList.toggle("cut-end", at.after);
      const cut = [at.before ? t("visits.before") : "", at.after ? t("visits.after") : ""].filter(Boolean);
      if (cut.length && node.title) node.title += ` (${cut.join(", ")})`;
    };
    // the scale: a row like a unit's, its ticks over the bars
    const scale = el("div", "visit-scale");
    const track = el("div", "visit-scale-track");
    track.dataset.from = String(from);
    track.dataset.to = String(to);
    scale.append(track);
    root.append(scale);
    drawTicks(track, from, to);
    if (this.scaleWatch) this.scaleWatch.observe(track);
    for (const route of plan.routes) {
      const row = el("div", "visit-row");
      row.dataset.unit = route.unit_id;
      const name = el("span", "visit-unit", this.unitName(route.unit_id));
      name.title = this.unitName(route.unit_id);
      row.append(name);
      const bar = el("div", "visit-bar");
      let last = route.depart;
      for (const stop of route.stops) {
        if (Date.parse(stop.arrival) > Date.parse(last)) {
          const drive = el("span", "seg drive");
          drive.title = `${fmtClock(last)}–${fmtClock(stop.arrival)}`;
          place(drive, last, stop.arrival);
          bar.append(drive);
        }
        last = stop.end;
        const v = byId.get(stop.visit_id);
        // A button: it opens the visit's pin form (the board's click handler), from the
        // keyboard too. Its name is the id whole, whatever fits in the bar (fitNames).
        const seg = el("button", `seg visit${v && v.at_risk ? " risk" : ""}${v && v.status === "started" ? " started" : ""}`,
          stop.visit_id);
        seg.type = "button";
        seg.dataset.visit = stop.visit_id;
        seg.dataset.name = stop.visit_id;
        seg.setAttribute("aria-label", stop.visit_id);
        seg.title = `${stop.visit_id} ${fmtClock(stop.start)}–${fmtClock(stop.end)}` +
          (v ? ` (${t("visits.window", { from: fmtClock(v.earliest_start), to: fmtClock(v.latest_start) })})` : "");
        place(seg, stop.start, stop.end);
        bar.append(seg);
      }
      if (route.break_start) {
        const brk = el("span", "seg break", t("visits.break"));
        brk.title = `${t("visits.break")} ${fmtClock(route.break_start)}–${fmtClock(route.break_end)}`;
        place(brk, route.break_start, route.break_end);
        bar.append(brk);
      }
      const acute = this.unitOf(route.unit_id);
      if (acute && acute.since) { // the callout as the planner expects it: 90 min from then
        const since = Date.parse(acute.since);
        const block = el("span", "seg acute", acute.callout_id);
        block.dataset.name = acute.callout_id;
        block.title = `${t("visits.callout")} ${acute.callout_id} ${fmtClock(acute.since)}–` +
          fmtClock(new Date(since + BUSY_MS).toISOString());
        place(block, since, since + BUSY_MS);
        bar.append(block);
      }
      if (nowShown) {
        const mark = el("span", "visit-now");
        mark.setAttribute("aria-hidden", "true");
        mark.style.left = `${placeOn(from, to, now, now).left}%`;
        bar.append(mark);
      }
      row.append(bar);
      if (acute) row.append(el("span", "visit-acute", `${t("visits.callout")} ${acute.callout_id}`));
      root.append(row);
    }
    fitNames(root);
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
