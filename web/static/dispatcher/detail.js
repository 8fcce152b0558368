// The selected callout's panel: facts, alarms (split), ranked units (assign), actions (note,
// merge, cancel) and the timeline. The forms are static HTML so typing survives re-renders;
// only the lists are redrawn.
import { t } from "/static/lib/i18n.js";
import { agencyBadges } from "./panels.js";
import { escapeHtml, fmtAge, fmtMinutes, fmtPeople, fmtTime } from "./format.js";
import { ON_THE_WAY, OPEN } from "./store.js";
import { CANCEL_CODES, cancelReason } from "/static/lib/vocab.js";

/** How long after a cancel the callout may be reopened (DispatchConfig.reopen_window_s). */
export const REOPEN_MS = 5 * 60 * 1000;

const $ = (root, sel) => root.querySelector(sel);

/** Straight-line kilometres between two {lat, lon}. */
export function distanceKm(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 12742 * Math.asin(Math.sqrt(h));
}

/** The core's English reason words in a logged event (dispatch.rules_incidents and
 * rules_assignment write them), in the page's language; anything else as logged. */
export function reasonText(reason) {
  const near = /^within (\d+) m and (\d+) min$/.exec(reason || "");
  if (near) return t("why.near", { m: near[1], min: near[2] });
  const key = { "linked by the agency": "why.linked", reassigned: "why.reassigned", merged: "why.merged" }[reason];
  return key ? t(key) : reason || "–";
}

/** One timeline line's text for an event. */
export function describe(ev, { units }) {
  const unitName = (id) => (units.get(id) ? units.get(id).name : id);
  switch (ev.type) {
    case "AlarmReceived":
      return t(ev.merged_reason ? "ev.AlarmReceived.merged" : "ev.AlarmReceived", {
        agency: t(`agency.${ev.alarm.agency}`), ref: ev.alarm.reference, prio: ev.alarm.priority,
        reason: reasonText(ev.merged_reason) });
    case "CalloutsMerged":
      return t("ev.CalloutsMerged", { source: ev.source_id, target: ev.target_id });
    case "CalloutSplit":
      return t("ev.CalloutSplit", { alarm: ev.alarm_id, new: ev.new_callout_id });
    case "UnitAssigned":
      return t("ev.UnitAssigned", { unit: unitName(ev.unit_id), min: fmtMinutes(ev.eta_s) });
    case "AssignmentAcknowledged":
    case "AssignmentTimedOut":
      return t(`ev.${ev.type}`, { unit: unitName(ev.unit_id) });
    case "AssignmentCancelled":
      return t("ev.AssignmentCancelled", { unit: unitName(ev.unit_id), reason: reasonText(ev.reason) });
    case "UnitStatusChanged":
      return t("ev.UnitStatusChanged", { unit: unitName(ev.unit_id), status: t(`unit.${ev.status}`) })
        + (ev.facility ? ` (${ev.facility})` : "");
    case "OutcomeRecorded":
      return t("ev.OutcomeRecorded", { kind: t(`outcome.${ev.outcome.kind}`) })
        + (ev.outcome.facility ? ` – ${ev.outcome.facility}` : "")
        + (ev.outcome.follow_up_at ? ` · ${fmtTime(ev.outcome.follow_up_at)}` : "");
    case "CalloutCancelled":
      return t("ev.CalloutCancelled", { reason: cancelReason(t, ev) });
    case "CalloutReopened":
      return t("ev.CalloutReopened");
    case "NoteAdded":
      return t("ev.NoteAdded", { text: ev.text });
    default:
      return t("ev.other", { type: ev.type });
  }
}

/** Who caused an event: the principal's name when known, the agency for an alarm, else the
 * actor id ("system" for the service's own decisions). */
export function who(ev, actors) {
  const name = ev.actor === "system" ? t("who.system") : (actors.get(ev.actor) || ev.actor);
  if (ev.type === "AlarmReceived") return `${t(`agency.${ev.alarm.agency}`)} · ${name}`;
  return name;
}

/** Whether option can be chosen for callout: the server's judgement for a waiting callout;
 * for one a unit already has and can still give up (a reassignment), any other free unit
 * with no caveat. */
export function usable(option, callout) {
  if (!option || !callout || callout.unit_id === option.unit_id || !OPEN.has(callout.status)) return false;
  if (callout.status === "waiting") return option.assignable;
  if (!ON_THE_WAY.has(callout.status)) return false;
  return ["available", "returning"].includes(option.status) && option.eta_s !== null && !option.note;
}

export class Detail {
  constructor(root, handlers) {
    this.root = root;
    this.h = handlers;
    this.callout = null;
    this.options = [];
    this.current = null;
    this.pickedIndex = 0;
    $(root, "#detail-close").addEventListener("click", () => handlers.onClose());
    $(root, "#recs").addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-index]");
      if (btn) handlers.onAssign(Number(btn.dataset.index));
    });
    $(root, "#detail-alarms").addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-split]");
      if (btn) handlers.onSplit(btn.dataset.split);
    });
    $(root, "#note-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const text = $(root, "#note-text").value.trim();
      if (text) handlers.onNote(text).then((ok) => { if (ok) $(root, "#note-text").value = ""; });
    });
    $(root, "#merge-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const other = $(root, "#merge-with").value;
      if (other) handlers.onMerge(other);
    });
    $(root, "#cancel-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.confirmCancel();
    });
    $(root, "#reopen").addEventListener("click", () => {
      if (this.callout) handlers.onReopen(this.callout.callout_id);
    });
  }

  /** Check the reason, then ask before cancelling (a dialog saying what will happen). */
  confirmCancel() {
    const r = this.root;
    const code = $(r, "#cancel-code").value;
    const reason = $(r, "#cancel-reason").value.trim();
    const error = !code ? t("actions.cancel_missing") : code === "other" && !reason ? t("actions.cancel_other") : "";
    $(r, "#cancel-error").textContent = error;
    $(r, "#cancel-code").setAttribute("aria-invalid", String(!code));
    if (error || !this.callout) return;
    const callout = this.callout;
    const dialog = document.getElementById("cancel-confirm");
    const unit = callout.unit_id ? (this.h.unitName ? this.h.unitName(callout.unit_id) : callout.unit_id) : "";
    document.getElementById("cancel-confirm-title").textContent = t("cancel.title", { callout: callout.callout_id });
    document.getElementById("cancel-confirm-text").textContent = t("cancel.text", {
      reason: cancelReason(t, { code, reason }), unit: unit ? t("cancel.unit", { unit }) : "" });
    dialog.returnValue = "";
    dialog.addEventListener("close", () => {
      if (dialog.returnValue !== "yes") return;
      this.h.onCancel(callout.callout_id, code, reason).then((ok) => {
        if (!ok) return;
        $(r, "#cancel-reason").value = "";
        $(r, "#cancel-code").value = "";
      });
    }, { once: true });
    dialog.showModal();
  }

  clear() {
    this.callout = null;
    this.options = [];
    this.current = null;
    $(this.root, "#detail-empty").hidden = false;
    $(this.root, "#detail-body").hidden = true;
  }

  /** Redraw the facts, alarms, merge choices and timeline of callout. */
  show(callout, store, now, actors) {
    const changedCallout = !this.callout || this.callout.callout_id !== callout.callout_id;
    this.callout = callout;
    const r = this.root;
    $(r, "#detail-empty").hidden = true;
    $(r, "#detail-body").hidden = false;
    $(r, "#detail-title").textContent = `${callout.callout_id} – ${callout.location.label || ""}`;
    const unit = callout.unit_id ? store.units.get(callout.unit_id) : null;
    const facts = [
      ["detail.status", `<span class="cstatus cstatus-${callout.status}">${escapeHtml(t(`callout.${callout.status}`))}</span>`
        + (callout.ack_overdue ? ` <span class="badge danger">${escapeHtml(t("detail.overdue"))}</span>` : "")],
      ["detail.priority", `<span class="prio-badge prio-${callout.priority}">${escapeHtml(t(`prio.${callout.priority}`))}</span>`],
      // how long it has waited, or (once it has ended) how long it was open
      ["detail.age", OPEN.has(callout.status) || !callout.ended_at
        ? `<span data-age="${escapeHtml(callout.created_at)}">${fmtAge(callout.created_at, now)}</span>`
        : `<span>${fmtAge(callout.created_at, new Date(callout.ended_at))}</span>`],
      ["detail.place", escapeHtml(callout.location.label || `${callout.location.lat.toFixed(4)}, ${callout.location.lon.toFixed(4)}`)],
    ];
    if (unit) facts.push(["detail.unit", escapeHtml(unit.name)]);
    if (callout.eta_at) { // the arrival promised at assignment, flagged once it has passed
      const late = ON_THE_WAY.has(callout.status);
      facts.push(["detail.eta", `<span${late ? ` data-due="${escapeHtml(callout.eta_at)}"` : ""}>${escapeHtml(fmtTime(callout.eta_at))}</span>`
        + (late ? ` <span class="badge danger late"${now.getTime() >= Date.parse(callout.eta_at) ? "" : " hidden"}>${escapeHtml(t("detail.late"))}</span>` : "")]);
    }
    if (callout.on_scene_at) { // alarm to on scene, from the crew's press
      facts.push(["detail.response", `<span id="detail-response">${escapeHtml(fmtAge(callout.created_at, new Date(callout.on_scene_at)))}</span>`]);
    }
    $(r, "#detail-facts").innerHTML = facts.map(([k, v]) => `<dt>${escapeHtml(t(k))}</dt><dd>${v}</dd>`).join("");

    const canSplit = callout.alarms.length > 1 && OPEN.has(callout.status) && !this.h.readOnly;
    $(r, "#detail-alarms").innerHTML = callout.alarms.map((a) => `<li data-alarm="${escapeHtml(a.alarm_id)}">`
      + `${agencyBadges([a])} <strong>${escapeHtml(a.reference)}</strong> · ${escapeHtml(t(`category.${a.category}`))}`
      + ` · ${escapeHtml(t(`prio.${a.priority}`))} · ${escapeHtml(fmtTime(a.received_at))}`
      + (a.police_on_scene ? ` · ${escapeHtml(t("agency.police"))} ✓` : "")
      + (a.ambulance_on_scene ? ` · ${escapeHtml(t("agency.ambulance"))} ✓` : "")
      + (a.note ? `<div class="note">${escapeHtml(a.note)}</div>` : "")
      + (canSplit ? ` <button type="button" class="small" data-split="${escapeHtml(a.alarm_id)}">${escapeHtml(t("detail.split"))}</button>` : "")
      + "</li>").join("");

    const select = $(r, "#merge-with");
    const keep = changedCallout ? "" : select.value;
    // Callouts that could be the same incident, nearest first (a planned follow-up is never
    // the same incident as an acute alarm: dispatch.rules_incidents.compatible).
    const followUp = (c) => c.alarms.some((a) => a.category === "follow_up_request");
    const others = store.openCallouts()
      .filter((c) => c.callout_id !== callout.callout_id && followUp(c) === followUp(callout))
      .map((c) => ({ c, km: distanceKm(c.location, callout.location) }))
      .sort((a, b) => a.km - b.km)
      .map(({ c, km }) => ({ ...c, km }));
    select.innerHTML = others.length
      ? others.map((c) => `<option value="${escapeHtml(c.callout_id)}">${escapeHtml(c.callout_id)} – `
        + `${escapeHtml(c.location.label || "")} (${escapeHtml(t(`prio.${c.priority}`))}, `
        + `${escapeHtml(t("merge.km", { km: c.km < 10 ? c.km.toFixed(1) : Math.round(c.km) }))})</option>`).join("")
      : `<option value="">${escapeHtml(t("actions.merge_none"))}</option>`;
    if (keep && others.some((c) => c.callout_id === keep)) select.value = keep;
    $(r, "#merge").disabled = !others.length;

    const open = OPEN.has(callout.status);
    const codes = $(r, "#cancel-code");
    const picked = changedCallout ? "" : codes.value;
    codes.innerHTML = `<option value="">${escapeHtml(t("actions.cancel_pick"))}</option>`
      + CANCEL_CODES.map((c) => `<option value="${c}">${escapeHtml(t(`cancel.code.${c}`))}</option>`).join("");
    codes.value = picked;
    if (changedCallout) $(r, "#cancel-error").textContent = "";
    this.showReopen(now);
    $(r, "#rec-section").hidden = !open;
    $(r, "#actions").hidden = !open; // a finished callout (from the history) has nothing to act on
    for (const el of r.querySelectorAll("#actions button, #actions input, #actions select, #actions textarea")) {
      el.disabled = !open || (el.id === "merge" && !others.length);
    }
    this.renderTimeline(store, actors);
    if (changedCallout) this.setRecommendations({ loading: true });
  }

  /** Offer "reopen" while a cancelled callout is within the reopen window (service time). */
  showReopen(now) {
    const c = this.callout;
    const until = c && c.status === "cancelled" && c.cancelled_at && !this.h.readOnly
      ? Date.parse(c.cancelled_at) + REOPEN_MS : NaN;
    const can = Number.isFinite(until) && now.getTime() < until;
    $(this.root, "#reopen-box").hidden = !can;
    if (can) $(this.root, "#reopen-text").textContent = t("actions.reopen_until", { time: fmtTime(new Date(until).toISOString()) });
  }

  renderTimeline(store, actors) {
    if (!this.callout) return;
    const entries = store.timeline(this.callout.callout_id);
    const list = $(this.root, "#timeline");
    // A status pressed offline: when the crew pressed it first, and when it arrived beside it.
    const when = (ev) => (ev.pressed_at && fmtTime(ev.pressed_at) !== fmtTime(ev.at)
      ? `<time class="pressed" datetime="${escapeHtml(ev.pressed_at)}">${escapeHtml(fmtTime(ev.pressed_at))}</time> `
        + `<small class="received">`
        + `(${escapeHtml(t("timeline.pressed", { pressed: fmtTime(ev.pressed_at), received: fmtTime(ev.at) }))})</small>`
      : `<time datetime="${escapeHtml(ev.at)}">${escapeHtml(fmtTime(ev.at))}</time>`);
    list.innerHTML = entries.length ? entries.map(({ seq, event }) => `<li data-seq="${seq}" data-type="${escapeHtml(event.type)}">`
      + `${when(event)} `
      + `<span class="what">${escapeHtml(describe(event, store))}</span> `
      + `<span class="who">${escapeHtml(who(event, actors))}</span></li>`).join("")
      : `<li class="muted">${escapeHtml(t("timeline.empty"))}</li>`;
    if (store.truncated.has(this.callout.callout_id)) {
      list.insertAdjacentHTML("afterbegin", `<li class="muted" data-truncated>${escapeHtml(t("timeline.truncated"))}</li>`);
    }
  }

  /** state: {loading} | {options} | {error} */
  setRecommendations(state) {
    const list = $(this.root, "#recs");
    const status = $(this.root, "#rec-status");
    this.options = state.options || [];
    this.current = state.current || null; // the unit that has it, while on its way
    const avoid = this.callout && this.h.avoidUnit ? this.h.avoidUnit(this.callout.callout_id) : null;
    const fine = (o) => usable(o, this.callout);
    const best = this.options.findIndex((o) => fine(o) && o.unit_id !== avoid && !this.missed(o)); // not one that missed it
    this.pickedIndex = Math.max(0, best >= 0 ? best : this.options.findIndex(fine));
    if (state.loading) {
      status.textContent = t("rec.loading");
      list.innerHTML = "";
      return;
    }
    if (state.error) {
      status.textContent = t("toast.error", { message: state.error });
      list.innerHTML = "";
      return;
    }
    const c = this.callout;
    const now = this.current && this.current.eta_min !== null
      ? t("rec.current", { unit: this.current.name, min: String(Math.round(this.current.eta_min)) }) : "";
    status.textContent = this.options.some((o) => usable(o, c)) ? now
      : c && c.unit_id && !ON_THE_WAY.has(c.status) ? t("rec.stays", { status: t(`callout.${c.status}`).toLowerCase() })
        : t("rec.none");
    this.renderOptions();
  }

  renderOptions() {
    const c = this.callout;
    const verb = c && c.unit_id ? t("rec.reassign") : t("rec.assign");
    $(this.root, "#recs").innerHTML = this.options.map((o, i) => {
      const mins = o.eta_min === null ? "–" : String(Math.round(o.eta_min));
      const ok = usable(o, c);
      return `<li class="rec${i === this.pickedIndex ? " picked" : ""}${ok ? "" : " unusable"}" data-unit="${escapeHtml(o.unit_id)}">`
        + `<span class="rank">${i + 1}</span><span class="rmain"><strong>${escapeHtml(o.name)}</strong>`
        + ` <small>${escapeHtml(t(`unit.${o.status}`))}</small><br>`
        + `<span class="eta">${escapeHtml(t("rec.eta", { min: mins }))}</span>`
        + (o.distance_km !== null ? ` · ${escapeHtml(t("rec.km", { km: o.distance_km }))}` : "")
        + ` · <span class="uncovered${o.uncovered_population > 0 ? " warn" : ""}">${escapeHtml(t("rec.uncovered", { pop: fmtPeople(o.uncovered_population) }))}</span>`
        + (o.note ? ` <small>(${escapeHtml(o.note)})</small>` : "")
        + (this.missed(o) ? ` <span class="badge danger missed-ack">${escapeHtml(t("rec.missed_ack", { callout: this.missed(o) }))}</span>` : "")
        + (ok ? "" : ` <small>${escapeHtml(t("rec.not_assignable"))}</small>`) + "</span>"
        + `<button type="button" class="primary assign" data-command data-index="${i}" ${ok ? "" : "disabled"}`
        + ` aria-keyshortcuts="${i < 9 ? i + 1 : ""}">${escapeHtml(verb)}</button></li>`;
    }).join("");
  }

  /** The callout a recommended unit last let time out unacknowledged (the live board's word
   * wins over the reply's, which may be older), or null. */
  missed(option) {
    const unit = this.h.unit ? this.h.unit(option.unit_id) : null;
    return unit && "missed_ack" in unit ? unit.missed_ack : option.missed_ack || null;
  }

  /** Highlight the n-th (0-based) option; returns false if there is none. */
  pick(index) {
    if (index < 0 || index >= this.options.length) return false;
    this.pickedIndex = index;
    this.renderOptions();
    return true;
  }

  picked() {
    return this.options[this.pickedIndex] || null;
  }
}
