// The side lists: the queue of unassigned callouts, callouts in progress, units and today's
// follow-up visits. Each render replaces its list (they are short); ages tick separately.
import { t } from "/static/lib/i18n.js";
import { escapeHtml, fmtAge, fmtTime, sameDay } from "./format.js";
import { escalation } from "./newalarm.js";

/** A competence's short name (a region may name ones the page has no word for: shown as is). */
function competenceText(name) {
  const key = `competence.${name}`;
  const text = t(key);
  return text === key ? name : text;
}

export function agencyBadges(alarms) {
  const seen = [...new Set(alarms.map((a) => a.agency))];
  return seen.map((a) => `<span class="agency agency-${escapeHtml(a)}" title="${escapeHtml(t(`agency.${a}`))}"`
    + ` aria-label="${escapeHtml(t(`agency.${a}`))}">${escapeHtml(t(`agency.${a}.short`))}</span>`).join("");
}

function calloutItem(c, { selected, now, units }) {
  const unit = c.unit_id ? units.get(c.unit_id) : null;
  const place = c.location.label || `${c.location.lat.toFixed(3)}, ${c.location.lon.toFixed(3)}`;
  const extra = [];
  if (c.alarms.length > 1) extra.push(`<span class="badge info">${c.alarms.length} ${escapeHtml(t("detail.alarms").toLowerCase())}</span>`);
  if (c.ack_overdue) extra.push(`<span class="badge danger">${escapeHtml(t("detail.overdue"))}</span>`);
  if (unit) extra.push(`<span class="unit-ref status-${unit.status}">${escapeHtml(unit.name)} · ${escapeHtml(t(`callout.${c.status}`))}</span>`);
  return `<li><button type="button" class="callout-item prio-${c.priority}${c.ack_overdue ? " overdue" : ""}"`
    + ` data-escalation="${escalation(c, now)}"`
    + ` data-callout="${escapeHtml(c.callout_id)}" aria-pressed="${selected === c.callout_id}">`
    + `<span class="prio" title="${escapeHtml(t(`prio.${c.priority}`))}">${c.priority}</span>`
    + `<span class="main"><span class="cid">${escapeHtml(c.callout_id)}</span> `
    + `<span class="place">${escapeHtml(place)}</span><span class="agencies">${agencyBadges(c.alarms)}</span>`
    + `${extra.length ? `<span class="extra">${extra.join(" ")}</span>` : ""}</span>`
    + `<span class="age" data-age="${escapeHtml(c.created_at)}">${fmtAge(c.created_at, now)}</span>`
    + "</button></li>";
}

function fill(list, items, emptyKey) {
  list.innerHTML = items.length ? items.join("") : `<li class="empty muted">${escapeHtml(t(emptyKey))}</li>`;
}

export class Panels {
  constructor({ queue, active, units, followUps, queueCount, onSelectCallout, onSelectUnit = () => {},
    onMessageUnit = () => {} }) {
    this.el = { queue, active, units, followUps, queueCount };
    units.addEventListener("click", (ev) => {
      const btn = ev.target.closest("[data-unit-open]");
      if (btn) onSelectUnit(btn.dataset.unitOpen);
      const msg = ev.target.closest("[data-unit-message]");
      if (msg) onMessageUnit(msg.dataset.unitMessage);
    });
    for (const list of [queue, active, units]) {
      list.addEventListener("click", (ev) => {
        const btn = ev.target.closest("[data-callout]");
        if (btn) onSelectCallout(btn.dataset.callout);
      });
    }
  }

  render(store, selected, now) {
    const ctx = { selected, now, units: store.units };
    const queue = store.queue();
    fill(this.el.queue, queue.map((c) => calloutItem(c, ctx)), "queue.empty");
    this.el.queueCount.textContent = String(queue.length);
    this.el.queueCount.className = `badge ${queue.length ? "danger" : "ok"}`;
    fill(this.el.active, store.active().map((c) => calloutItem(c, ctx)), "active.empty");
    this.renderUnits(store, now);
    this.renderFollowUps(store, now);
  }

  /** Each unit with its status, who is on board (names and roles), what they can do and until
   * when; a unit due by the rota whose crew has not signed on is flagged (store.rotaDue: unit
   * id -> shift). */
  renderUnits(store, now = new Date()) {
    const units = [...store.units.values()].sort((a, b) => a.name.localeCompare(b.name, "sv"));
    fill(this.el.units, units.map((u) => {
      const job = u.callout_id
        ? ` <button type="button" class="link" data-callout="${escapeHtml(u.callout_id)}">${escapeHtml(u.callout_id)}</button>`
        : "";
      const members = (u.crew || []).map((m) => `${m.name} (${t(`role.${m.role}`)})`).join(", ");
      const crew = members || (u.crew_size ? t("unit.crew", { n: u.crew_size }) : "");
      const until = u.shift_ends_at ? t("unit.until", { time: fmtTime(u.shift_ends_at).slice(0, 5) }) : "";
      const due = store.rotaDue && store.rotaDue.get(u.unit_id);
      const flag = due && u.status === "off_duty"
        ? ` <span class="badge danger rota-due">${escapeHtml(t("unit.due", { time: fmtTime(due.starts_at).slice(0, 5) }))}</span>`
        : "";
      const shift = crew || until
        ? `<span class="unit-crew">${escapeHtml(crew)}${crew && until ? " · " : ""}${escapeHtml(until)}</span>`
        : "";
      const can = u.status !== "off_duty" && (u.competences || []).length
        ? ` <span class="unit-can">${escapeHtml(t("unit.can", { list: u.competences.map(competenceText).join(", ") }))}</span>`
        : ""; // what the signed-on crew can do (the unit's competences and a doctor on board)
      // How long in this status and how old its position is (ticking, like the callouts' ages).
      const age = (iso) => `<span data-age="${escapeHtml(iso)}">${fmtAge(iso, now)}</span>`;
      const since = u.status_since
        ? ` <span class="unit-since">${escapeHtml(t("unit.in_status"))} ${age(u.status_since)}</span>` : "";
      // With no GPS report yet the unit is where the service puts it (its base, named, with
      // no time): that place, and that no report has come; "no position" only without a name.
      const base = u.position && u.position.label;
      const pos = u.status === "off_duty" ? "" : u.position_at
        ? `<span class="unit-pos">${escapeHtml(t("unit.position_age"))} ${age(u.position_at)}</span>`
        : `<span class="unit-pos">${escapeHtml(base ? t("unit.at_base", { place: base }) : t("unit.no_position"))}</span>`;
      return `<li class="unit-item${flag ? " due" : ""}" data-unit="${escapeHtml(u.unit_id)}"><button type="button" class="unit-open link" data-unit-open="${escapeHtml(u.unit_id)}">`
        + `<span class="dot status-${u.status}" aria-hidden="true"></span>`
        + `<span class="name">${escapeHtml(u.name)}</span></button> <span class="status">${escapeHtml(t(`unit.${u.status}`))}</span>${since}`
        + `${flag}${shift}${can}${pos}${job}`
        + (u.status !== "off_duty" ? ` <button type="button" class="small unit-message" data-command data-unit-message="${escapeHtml(u.unit_id)}">${escapeHtml(t("message.button"))}</button>` : "")
        + "</li>";
    }), "units.empty");
  }

  renderFollowUps(store, now) {
    const items = [...store.followUps.values()]
      .filter((f) => sameDay(f.at, now))
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    fill(this.el.followUps, items.map((f) => {
      const unit = store.units.get(f.requested_by);
      const where = f.location ? (f.location.label || `${f.location.lat.toFixed(3)}, ${f.location.lon.toFixed(3)}`) : "";
      return `<li class="followup" data-callout="${escapeHtml(f.callout_id)}"><strong>${escapeHtml(fmtTime(f.at).slice(0, 5))}</strong> `
        + `${escapeHtml(where)} <small>${escapeHtml(f.callout_id)}, ${escapeHtml(t("followups.by", { unit: unit ? unit.name : f.requested_by }))}</small></li>`;
    }), "followups.empty");
  }

  /** Refresh every ticking age on the page, and how urgent each waiting callout has become. */
  tick(now, store = null) {
    for (const el of document.querySelectorAll("[data-age]")) el.textContent = fmtAge(el.dataset.age, now);
    for (const el of document.querySelectorAll("[data-due]")) { // an arrival time that has passed
      const badge = el.parentElement && el.parentElement.querySelector(".late");
      if (badge) badge.hidden = now.getTime() < Date.parse(el.dataset.due);
    }
    if (!store) return;
    for (const el of this.el.queue.querySelectorAll(".callout-item[data-callout]")) {
      const c = store.callouts.get(el.dataset.callout);
      if (c) el.dataset.escalation = String(escalation(c, now));
    }
  }
}
