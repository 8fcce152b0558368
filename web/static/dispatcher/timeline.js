// The time scale of the dispatcher's visits board: a bar per unit (drives, visits, break, the
// unit's acute callout) on one scale that covers now and the plan, with HH:MM ticks and a mark
// at now. The layout is worked out by pure functions (plan, names, now, width in; what to draw
// out); the Timeline class puts it in the page and follows the clock and the bar's width.
import { register, t } from "/static/lib/i18n.js";
import { stockholmOffsetMs } from "/static/lib/time.js";
import { fmtClock } from "./format.js";

register({
  sv: {
    "visits.break": "Rast",
    "visits.callout": "Akut uppdrag",
    "visits.before": "började före tidslinjen",
    "visits.after": "fortsätter efter tidslinjen",
  },
  en: {
    "visits.break": "Break",
    "visits.callout": "Acute callout",
    "visits.before": "began before the timeline",
    "visits.after": "continues after the timeline",
  },
});

/** How long the planner expects an acute callout to keep a unit (PlanningConfig.callout_busy_s). */
const BUSY_MS = 90 * 60 * 1000;
/** The scale's ticks are this many minutes apart: the least that keeps their labels apart. */
const TICK_STEPS_MIN = [30, 60, 120, 180, 240, 360, 720];
const HALF_HOUR_MS = 30 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
/** How often the timeline looks whether the clock has moved its scale (no event says so). */
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
export function timelineRange(plan, now) {
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
export function placeOn(from, to, a, b) {
  const span = to - from;
  const at = (ms) => Math.min(100, Math.max(0, (100 * (ms - from)) / span));
  let left = at(a);
  const width = Math.max(LEAST_PCT, at(b) - left);
  left = Math.min(left, 100 - width);
  return { left, width, before: a < from, after: b > to };
}

/** The shortest name of a visit or callout, for a block too narrow for its id: "V000001" is
 * "V1". */
export function shortName(id) {
  return String(id).replace(/^([A-Za-z]*)0+(?=\d)/, "$1");
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
 * The scale's ticks from ``from`` to ``to`` (ms, both on a whole or half hour) on a track
 * ``width`` px wide with labels ``label`` px wide: each tick's instant, left (% of the track)
 * and whether its label ends at it (near the right end: the board does not scroll sideways).
 * Round times of Stockholm's clock, every half hour or every 1, 2, 3… hours, the closest that
 * leave a gap between labels.
 */
export function scaleTicks(from, to, width, label) {
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
  return times.map((at) => ({
    at, left: (100 * (at - from)) / span, end: ((at - from) * width) / span + label / 2 > width,
  }));
}

/** One unit's blocks in drawing order, placed on the scale ``range``: a drive before each
 * visit it needs one for, the visits (with their ``visit`` from GET /api/visits, if known),
 * the break, and the acute callout as the planner expects it (BUSY_MS from its start). */
function routeBlocks(route, range, byId, acute) {
  const { from, to } = range;
  const block = (kind, start, end, a, b, more) => ({ kind, start, end, ...placeOn(from, to, a, b), ...more });
  const blocks = [];
  let last = route.depart;
  for (const stop of route.stops) {
    if (Date.parse(stop.arrival) > Date.parse(last)) {
      blocks.push(block("drive", last, stop.arrival, Date.parse(last), Date.parse(stop.arrival)));
    }
    last = stop.end;
    blocks.push(block("visit", stop.start, stop.end, Date.parse(stop.start), Date.parse(stop.end),
      { id: stop.visit_id, visit: byId.get(stop.visit_id) }));
  }
  if (route.break_start) {
    blocks.push(block("break", route.break_start, route.break_end,
      Date.parse(route.break_start), Date.parse(route.break_end)));
  }
  if (acute && acute.since) {
    const since = Date.parse(acute.since);
    blocks.push(block("acute", acute.since, new Date(since + BUSY_MS).toISOString(), since, since + BUSY_MS,
      { id: acute.callout_id }));
  }
  return blocks;
}

/**
 * What the timeline shows, with no page to measure: its scale (``range``), where the mark of
 * now goes (``nowLeft``, % of a bar, null when now is off the scale), and a row per unit of the
 * plan with its name, its acute callout (``unitOf``) and its blocks. ``now`` is ms or null.
 */
export function layoutTimeline(plan, { visits, unitName, unitOf, now }) {
  const range = timelineRange(plan, now);
  const byId = new Map(visits.map((v) => [v.visit_id, v]));
  const rows = plan.routes.map((route) => {
    const acute = unitOf(route.unit_id);
    return { unit: route.unit_id, name: unitName(route.unit_id), acute,
      blocks: routeBlocks(route, range, byId, acute) };
  });
  const nowLeft = range.nowShown ? placeOn(range.from, range.to, now, now).left : null;
  return { range, nowLeft, rows };
}

/** A new element with its class and text (either left out when not given); the board's too. */
export function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
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

/** Draws the scale's ticks in ``track`` for its span at its width (scaleTicks); the label's
 * width is measured on the page, so the ticks are redrawn when the track's width changes. */
function drawTicks(track, from, to) {
  const width = track.clientWidth || 240; // hidden: redrawn once it has a width
  const probe = el("span", "visit-tick-label", "00:00");
  track.replaceChildren(probe);
  const label = probe.offsetWidth || 36;
  track.replaceChildren(...scaleTicks(from, to, width, label).map(({ at, left, end }) => {
    const tick = el("span", "visit-tick");
    tick.style.left = `${left}%`;
    if (end) tick.classList.add("end");
    tick.append(el("span", "visit-tick-label", fmtClock(new Date(at).toISOString())));
    return tick;
  }));
  track.dataset.width = String(width);
}

/** A block of a bar as a page element: a visit is a button (it opens the visit's pin form, by
 * the board's click handler, from the keyboard too) named by its whole id; its title gives the
 * times, and says where the block is cut at the bar's edge. */
function blockNode(block) {
  let node;
  if (block.kind === "visit") {
    const v = block.visit;
    node = el("button", `seg visit${v && v.at_risk ? " risk" : ""}${v && v.status === "started" ? " started" : ""}`,
      block.id);
    node.type = "button";
    node.dataset.visit = block.id;
    node.dataset.name = block.id;
    node.setAttribute("aria-label", block.id);
    node.title = `${block.id} ${fmtClock(block.start)}–${fmtClock(block.end)}` +
      (v ? ` (${t("visits.window", { from: fmtClock(v.earliest_start), to: fmtClock(v.latest_start) })})` : "");
  } else if (block.kind === "acute") {
    node = el("span", "seg acute", block.id);
    node.dataset.name = block.id;
    node.title = `${t("visits.callout")} ${block.id} ${fmtClock(block.start)}–${fmtClock(block.end)}`;
  } else if (block.kind === "break") {
    node = el("span", "seg break", t("visits.break"));
    node.title = `${t("visits.break")} ${fmtClock(block.start)}–${fmtClock(block.end)}`;
  } else {
    node = el("span", "seg drive");
    node.title = `${fmtClock(block.start)}–${fmtClock(block.end)}`;
  }
  node.style.left = `${block.left}%`;
  node.style.width = `${block.width}%`;
  node.classList.toggle("cut-start", block.before);
  node.classList.toggle("cut-end", block.after);
  const cut = [block.before ? t("visits.before") : "", block.after ? t("visits.after") : ""].filter(Boolean);
  if (cut.length && node.title) node.title += ` (${cut.join(", ")})`;
  return node;
}

/** A unit's row as a page element: its name, its bar (blocks and the mark of now) and, while
 * it has one, its acute callout's id. */
function rowNode(row, nowLeft) {
  const node = el("div", "visit-row");
  node.dataset.unit = row.unit;
  const name = el("span", "visit-unit", row.name);
  name.title = row.name;
  node.append(name);
  const bar = el("div", "visit-bar");
  bar.append(...row.blocks.map(blockNode));
  if (nowLeft !== null) {
    const mark = el("span", "visit-now");
    mark.setAttribute("aria-hidden", "true");
    mark.style.left = `${nowLeft}%`;
    bar.append(mark);
  }
  node.append(bar);
  if (row.acute) node.append(el("span", "visit-acute", `${t("visits.callout")} ${row.acute.callout_id}`));
  return node;
}

/** The visits board's timeline in the page: drawn into the board's ``root`` on each redraw,
 * its ticks and names fitted again when the width changes, its scale checked against the clock. */
export class Timeline {
  /** root: the board's container; now: the service's time (a Date, null until known); plan:
   * the board's latest plan; redraw: asks the board to redraw, the clock having moved the scale. */
  constructor(root, { now, plan, redraw }) {
    this.root = root;
    this.now = now;
    this.plan = plan;
    this.redraw = redraw;
    this.range = null; // the span as drawn (null: no timeline shown)
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
    // every CLOCK_CHECK_MS. A timeline made again for the same root (a new login) stops the
    // old one's clock.
    root.maeTimeline = this;
    this.clock = setInterval(() => {
      if (root.maeTimeline !== this) clearInterval(this.clock);
      else this.follow();
    }, CLOCK_CHECK_MS);
  }

  /** The board is cleared for a redraw: nothing of the old timeline is watched any more. */
  clear() {
    if (this.scaleWatch) this.scaleWatch.disconnect();
    this.range = null;
  }

  /** Appends the scale and a row per unit of ``plan`` to the root (layoutTimeline), then fits
   * the blocks' names to their widths. */
  draw(plan, { visits, unitName, unitOf }) {
    const clock = this.now();
    const layout = layoutTimeline(plan, { visits, unitName, unitOf, now: clock ? clock.getTime() : null });
    const { from, to } = layout.range;
    this.range = layout.range;
    // the scale: a row like a unit's, its ticks over the bars
    const scale = el("div", "visit-scale");
    const track = el("div", "visit-scale-track");
    track.dataset.from = String(from);
    track.dataset.to = String(to);
    scale.append(track);
    this.root.append(scale);
    drawTicks(track, from, to);
    if (this.scaleWatch) this.scaleWatch.observe(track);
    this.root.append(...layout.rows.map((row) => rowNode(row, layout.nowLeft)));
    fitNames(this.root);
    clearTimeout(this.untilKnown);
    if (!clock) this.waitForClock(20);
  }

  /** Drawn before the page knew the service's time: look again soon (not only at the next
   * clock check, 30 s on), so the scale takes in now as soon as the time is known. */
  waitForClock(tries) {
    this.untilKnown = setTimeout(() => {
      if (this.now()) this.follow();
      else if (tries > 1) this.waitForClock(tries - 1);
    }, 250);
  }

  /** The clock moved: the mark of now follows it, or the board is asked to redraw if the
   * scale's span changed (the board may wait while the dispatcher fills in a pin). */
  follow() {
    const plan = this.plan();
    if (!plan || !plan.routes.length || !this.range) return;
    const clock = this.now();
    const now = clock ? clock.getTime() : null;
    const { from, to, nowShown } = timelineRange(plan, now);
    if (from === this.range.from && to === this.range.to && nowShown === this.range.nowShown) {
      if (!nowShown) return;
      for (const mark of this.root.querySelectorAll(".visit-now")) {
        mark.style.left = `${placeOn(from, to, now, now).left}%`;
      }
      return;
    }
    this.redraw();
  }
}
