// The dispatcher page's copy of the dispatch state: the server's snapshot plus every event
// folded in the way dispatch/state.py folds it. Events at or below the last applied seq are
// ignored, so an event delivered twice (a reconnect, a replayed backlog) changes nothing.
// No DOM here: apply() reports what changed and the page redraws that.

export const OPEN = new Set(["waiting", "assigned", "acknowledged", "en_route", "on_scene", "transporting"]);
/** Callout statuses whose unit is still on its way (it may be swapped for another; once on
 * scene the callout stays with it): the service's rule (dispatch.status.ON_THE_WAY), sent with
 * every snapshot, so the page never keeps its own copy. Empty until the first snapshot. */
export const ON_THE_WAY = new Set();
const BUSY = new Set(["dispatched", "en_route", "on_scene", "transporting", "at_facility"]);
const FOLLOWS = { en_route: "en_route", on_scene: "on_scene", transporting: "transporting" };

export function alarmId(alarm) {
  return alarm.alarm_id || `${alarm.agency}/${alarm.reference}`;
}

function addSeconds(iso, s) {
  if (!iso || s === null || s === undefined) return null;
  return new Date(Date.parse(iso) + s * 1000).toISOString();
}

/** Which callouts an event concerns (for their timelines), given the state just before it. */
function concerns(store, ev) {
  const ids = new Set();
  for (const key of ["callout_id", "target_id", "source_id", "new_callout_id"]) {
    if (typeof ev[key] === "string") ids.add(ev[key]);
  }
  if (ev.type === "UnitStatusChanged") {
    const unit = store.units.get(ev.unit_id);
    if (unit && unit.callout_id) ids.add(unit.callout_id);
  }
  return ids;
}

export class DispatchStore {
  constructor() {
    this.reset({ seq: 0, units: [], callouts: [] });
    this.rotaDue = new Map(); // unit_id -> {starts_at, ends_at}: due by the rota, nobody signed on
  }

  /** Replace the units due by the rota but not signed on ([{unit_id, starts_at, ends_at}]). */
  setRotaDue(shifts) {
    this.rotaDue = new Map(shifts.map((s) => [s.unit_id, s]));
  }

  /** Replace everything with a snapshot {seq, units, callouts, on_the_way}. */
  reset(snapshot) {
    this.lastSeq = snapshot.seq || 0;
    if (Array.isArray(snapshot.on_the_way)) {
      ON_THE_WAY.clear();
      for (const status of snapshot.on_the_way) ON_THE_WAY.add(status);
    }
    this.units = new Map((snapshot.units || []).map((u) => [u.unit_id, { ...u }]));
    this.callouts = new Map((snapshot.callouts || []).map((c) => [c.callout_id, { ...c }]));
    this.timelines = new Map(); // callout_id -> Map(seq -> {seq, event})
    this.complete = new Set(); // callouts whose full history we have loaded
    /** Callouts whose history reply said older events were left out (truncated). */
    this.truncated = new Set();
    this.followUps = new Map(); // `${callout_id}|${at}` -> follow-up
  }

  openCallouts() {
    return [...this.callouts.values()].filter((c) => OPEN.has(c.status));
  }

  /** Unassigned callouts, most urgent first, then longest waiting. */
  queue() {
    return this.openCallouts()
      .filter((c) => c.status === "waiting")
      .sort((a, b) => a.priority - b.priority || Date.parse(a.created_at) - Date.parse(b.created_at)
        || a.callout_id.localeCompare(b.callout_id));
  }

  /** Callouts a unit has taken, most urgent first. */
  active() {
    return this.openCallouts()
      .filter((c) => c.status !== "waiting")
      .sort((a, b) => a.priority - b.priority || Date.parse(a.created_at) - Date.parse(b.created_at));
  }

  timeline(calloutId) {
    const entries = this.timelines.get(calloutId);
    return entries ? [...entries.values()].sort((a, b) => a.seq - b.seq) : [];
  }

  _remember(calloutId, seq, event) {
    if (!this.timelines.has(calloutId)) this.timelines.set(calloutId, new Map());
    this.timelines.get(calloutId).set(seq, { seq, event });
  }

  /** Add a callout's logged history (the "history" reply); duplicates are harmless.
   * truncated: the reply left older events out (its limit, or a callout older than the
   * service's kept window), so the timeline says it shows the latest only. */
  addHistory(calloutId, events, truncated = false) {
    for (const { seq, event } of events) this._remember(calloutId, seq, event);
    this.complete.add(calloutId);
    if (truncated) this.truncated.add(calloutId);
    else this.truncated.delete(calloutId);
  }

  setFollowUps(items) {
    for (const f of items) this.followUps.set(`${f.callout_id}|${f.at}`, f);
  }

  /**
   * Fold one event. Returns null for a repeat (seq <= lastSeq), else {units, callouts}: the
   * ids whose display changed.
   */
  apply(seq, ev) {
    if (typeof seq !== "number" || seq <= this.lastSeq) return null;
    this.lastSeq = seq;
    const changed = { units: new Set(), callouts: new Set(), event: ev, seq };
    for (const id of concerns(this, ev)) {
      this._remember(id, seq, ev);
      changed.callouts.add(id);
    }
    const handler = this[`_on${ev.type}`];
    if (handler) handler.call(this, ev, changed);
    return changed;
  }

  /** A unit's position from a "unit_positions" message (not an event: no seq); an older one
   * than shown is ignored. Adds the unit to ``changed.units`` when it moved. */
  setPosition(unitId, position, at, changed) {
    const unit = this.units.get(unitId);
    if (!unit || !position) return;
    if (at && unit.position_at && Date.parse(at) < Date.parse(unit.position_at)) return;
    this._unit(unitId, { position, position_at: at }, changed);
  }

  _unit(id, changes, changed) {
    const unit = this.units.get(id);
    if (!unit) return;
    Object.assign(unit, changes);
    changed.units.add(id);
  }

  _callout(id, changes, changed) {
    const callout = this.callouts.get(id);
    if (!callout) return;
    Object.assign(callout, changes);
    changed.callouts.add(id);
  }

  _release(unitId, at, changed) {
    const unit = unitId && this.units.get(unitId);
    if (!unit) return;
    this._unit(unitId, { callout_id: null, status: BUSY.has(unit.status) ? "available" : unit.status,
      status_since: at }, changed);
  }

  _onUnitRegistered(e, ch) {
    this.units.set(e.unit_id, {
      unit_id: e.unit_id, name: e.name, base: e.base, status: "off_duty", status_since: e.at,
      position: e.position, position_at: null, callout_id: null, shift_ends_at: null,
      crew_size: 0, crew: [], competences: [], registered_competences: e.competences || [],
      seats: e.seats ?? null, retired: false,
    });
    ch.units.add(e.unit_id);
  }

  _onUnitUpdated(e, ch) {
    const changes = { name: e.name, base: e.base, registered_competences: e.competences, seats: e.seats };
    if (e.position) Object.assign(changes, { position: e.position, position_at: e.at });
    this._unit(e.unit_id, changes, ch);
  }

  /** A retired unit leaves the board (it stays in the log and in /api/units). */
  _onUnitRetired(e, ch) {
    if (this.units.delete(e.unit_id)) ch.units.add(e.unit_id);
  }

  _onShiftStarted(e, ch) {
    this._unit(e.unit_id, { status: "available", status_since: e.at, crew_size: e.crew.length,
      crew: e.crew, competences: e.competences || [], shift_ends_at: e.ends_at }, ch);
  }

  _onShiftEnded(e, ch) {
    this._unit(e.unit_id, { status: "off_duty", status_since: e.at, crew_size: 0, crew: [], shift_ends_at: null }, ch);
  }

  _onAlarmReceived(e, ch) {
    const alarm = { ...e.alarm, alarm_id: alarmId(e.alarm) };
    const existing = this.callouts.get(e.callout_id);
    if (existing) {
      this._callout(e.callout_id, {
        alarm_ids: [...existing.alarm_ids, alarm.alarm_id], alarms: [...existing.alarms, alarm],
        priority: Math.min(existing.priority, alarm.priority),
      }, ch);
      return;
    }
    this.callouts.set(e.callout_id, {
      callout_id: e.callout_id, status: "waiting", priority: alarm.priority,
      created_at: alarm.received_at, location: alarm.location, alarm_ids: [alarm.alarm_id],
      alarms: [alarm], unit_id: null, eta_s: null, eta_at: null, ack_deadline: null,
      ack_overdue: false, merged_into: null, outcome: null, notes: [],
    });
    ch.callouts.add(e.callout_id);
  }

  _onCalloutsMerged(e, ch) {
    const source = this.callouts.get(e.source_id);
    const target = this.callouts.get(e.target_id);
    if (source && target) {
      this._callout(e.target_id, {
        alarm_ids: [...target.alarm_ids, ...source.alarm_ids],
        alarms: [...target.alarms, ...source.alarms],
        priority: Math.min(target.priority, source.priority),
        notes: [...target.notes, ...source.notes],
      }, ch);
      for (const entry of this.timeline(e.source_id)) this._remember(e.target_id, entry.seq, entry.event);
    }
    this._callout(e.source_id, { status: "merged", merged_into: e.target_id, alarm_ids: [], alarms: [],
      unit_id: null, ack_deadline: null, eta_s: null, eta_at: null }, ch);
  }

  _onCalloutSplit(e, ch) {
    const callout = this.callouts.get(e.callout_id);
    if (!callout) return;
    const alarm = callout.alarms.find((a) => a.alarm_id === e.alarm_id);
    const rest = callout.alarms.filter((a) => a.alarm_id !== e.alarm_id);
    this._callout(e.callout_id, { alarms: rest, alarm_ids: rest.map((a) => a.alarm_id),
      priority: Math.min(...rest.map((a) => a.priority)) }, ch);
    if (!alarm) return;
    this.callouts.set(e.new_callout_id, {
      callout_id: e.new_callout_id, status: "waiting", priority: alarm.priority,
      created_at: alarm.received_at, location: alarm.location, alarm_ids: [alarm.alarm_id],
      alarms: [alarm], unit_id: null, eta_s: null, eta_at: null, ack_deadline: null,
      ack_overdue: false, merged_into: null, outcome: null, notes: [],
    });
    ch.callouts.add(e.new_callout_id);
  }

  _onUnitAssigned(e, ch) {
    this._callout(e.callout_id, { status: "assigned", unit_id: e.unit_id, eta_s: e.eta_s,
      eta_at: addSeconds(e.at, e.eta_s), ack_deadline: e.ack_deadline, ack_overdue: false }, ch);
    this._unit(e.unit_id, { status: "dispatched", status_since: e.at, callout_id: e.callout_id }, ch);
  }

  _onAssignmentAcknowledged(e, ch) {
    this._callout(e.callout_id, { status: "acknowledged", ack_deadline: null, ack_overdue: false }, ch);
    if (this.units.has(e.unit_id)) this._unit(e.unit_id, { missed_ack: null }, ch);
  }

  _onAssignmentTimedOut(e, ch) {
    this._callout(e.callout_id, { status: "waiting", unit_id: null, ack_deadline: null, eta_s: null,
      eta_at: null, ack_overdue: true }, ch);
    this._release(e.unit_id, e.at, ch);
    if (this.units.has(e.unit_id)) this._unit(e.unit_id, { missed_ack: e.callout_id }, ch); // flagged when recommended again
  }

  _onAssignmentCancelled(e, ch) {
    this._callout(e.callout_id, { status: "waiting", unit_id: null, ack_deadline: null, eta_s: null,
      eta_at: null }, ch);
    this._release(e.unit_id, e.at, ch);
  }

  _onUnitStatusChanged(e, ch) {
    const unit = this.units.get(e.unit_id);
    if (!unit) return;
    const calloutId = unit.callout_id;
    const since = e.pressed_at || e.at; // pressed offline: it counts from the press
    this._unit(e.unit_id, { status: e.status, status_since: since }, ch);
    if (calloutId && FOLLOWS[e.status]) {
      const changes = { status: FOLLOWS[e.status], ack_deadline: null };
      const callout = this.callouts.get(calloutId);
      if (e.status === "on_scene" && callout && !callout.on_scene_at) changes.on_scene_at = since;
      this._callout(calloutId, changes, ch);
    }
  }

  _onUnitPositionReported(e, ch) {
    this._unit(e.unit_id, { position: e.position, position_at: e.at }, ch);
  }

  _onOutcomeRecorded(e, ch) {
    const callout = this.callouts.get(e.callout_id);
    this._callout(e.callout_id, { status: "closed", outcome: e.outcome, ack_deadline: null, ended_at: e.at }, ch);
    this._unit(e.unit_id, { callout_id: null }, ch);
    const at = e.outcome && e.outcome.follow_up_at;
    if (at) {
      this.followUps.set(`${e.callout_id}|${at}`, { callout_id: e.callout_id, at,
        location: callout ? callout.location : null, requested_by: e.unit_id });
    }
  }

  _onCalloutCancelled(e, ch) {
    const callout = this.callouts.get(e.callout_id);
    this._callout(e.callout_id, { status: "cancelled", ack_deadline: null, cancelled_at: e.at, ended_at: e.at }, ch);
    if (callout) this._release(callout.unit_id, e.at, ch);
  }

  _onCalloutReopened(e, ch) {
    this._callout(e.callout_id, { status: "waiting", unit_id: null, eta_s: null, eta_at: null,
      ack_deadline: null, ack_overdue: false, cancelled_at: null, ended_at: null }, ch);
  }

  _onNoteAdded(e, ch) {
    const callout = this.callouts.get(e.callout_id);
    if (callout) {
      this._callout(e.callout_id, { notes: [...callout.notes, { at: e.at, actor: e.actor, text: e.text }] }, ch);
    }
  }
}
