// What the crew page knows, as plain data and pure functions (no DOM, no network): the server's
// unit and job, folded from socket events, and the same with the unsent outbox laid over it.
// ``wf`` is /crew/workflow.json: the server's transition table and crew rules.

const BUSY = ["dispatched", "en_route", "on_scene", "transporting", "at_facility"];
const RELEASES = ["AssignmentCancelled", "AssignmentTimedOut"];

/** The server's unit and job with the unsent outbox ``items`` laid over them. A job the crew
 * acknowledged (or drove off to) while the acknowledgement is still in the outbox moves on, but
 * keeps ``ack_unsent: true`` and its deadline: dispatch has not got the acknowledgement, and the
 * server times the assignment out at the deadline whatever the phone did. */
export function project(server, items, wf) {
  const unit = server.unit ? { ...server.unit } : null;
  let job = server.job ? { ...server.job } : null;
  const unacknowledged = Boolean(job) && job.status === "assigned";
  for (const { msg } of items) {
    if (!unit) break;
    if (msg.type === "status") {
      unit.status = msg.status;
      const follows = wf && wf.follow[msg.status];
      if (job && follows) job.status = follows;
    } else if (msg.type === "ack" && job && job.callout_id === msg.callout_id && job.status === "assigned") {
      job.status = "acknowledged";
    } else if (msg.type === "outcome" && job && job.callout_id === msg.callout_id) {
      job.status = "closed";
    } else if (msg.type === "shift_start" && unit.status === "off_duty") {
      unit.status = "available"; // signed on as far as the phone knows: the outbox sends it
      unit.crew = msg.crew;
      unit.shift_ends_at = msg.ends_at;
      unit.competences = msg.competences || unit.registered_competences || [];
    } else if (msg.type === "position") {
      unit.position = { ...(unit.position || {}), lat: msg.lat, lon: msg.lon };
    }
  }
  if (job && unacknowledged && job.status !== "assigned") job.ack_unsent = true;
  if (job && job.status === "closed") {
    job = null;
    unit.callout_id = null;
  }
  return { unit, job };
}

/** The statuses the crew may report next from ``unit`` on ``job`` (or none). */
export function allowedStatuses(unit, job, wf) {
  const out = new Set();
  if (!wf || !unit || unit.status === "off_duty") return out; // off duty: sign on first
  const next = new Set(wf.unit_transitions[unit.status] || []);
  for (const s of wf.reportable) {
    if (!next.has(s)) continue;
    if (job && wf.not_on_job.includes(s)) continue;
    if (!job && wf.needs_job.includes(s)) continue;
    const follows = wf.follow[s];
    // Driving off an unacknowledged job acknowledges it; otherwise the job must follow too.
    if (job && follows && !(s === "en_route" && job.status === "assigned")
        && !(wf.callout_transitions[job.status] || []).includes(follows)) continue;
    out.add(s);
  }
  return out;
}

function release(server) {
  server.job = null;
  server.route = null;
  const unit = server.unit;
  if (!unit) return;
  unit.callout_id = null;
  if (BUSY.includes(unit.status)) unit.status = "available";
}

/**
 * Fold one event (as the crew socket sends it; ``job`` is the callout view that comes with
 * UnitAssigned) into ``server``. Returns what the page should do about it:
 * [{notice: key, vars, level}] | [{alert: true}] (a new job) | [{resync: true}] (take a fresh
 * snapshot: the event does not carry what changed).
 */
export function applyEvent(server, ev, job, wf) {
  const unit = server.unit;
  const current = server.job;
  const mine = Boolean(current) && ev.callout_id === current.callout_id;
  const me = Boolean(unit) && ev.unit_id === unit.unit_id;
  if (ev.type === "UnitAssigned" && me) {
    unit.status = "dispatched";
    unit.callout_id = ev.callout_id;
    server.job = job || { callout_id: ev.callout_id, status: "assigned", priority: 3, alarms: [], location: {} };
    server.route = null;
    return [{ alert: true }];
  }
  if (ev.type === "AssignmentAcknowledged" && mine) {
    current.status = "acknowledged";
    current.ack_deadline = null;
  } else if (RELEASES.includes(ev.type) && mine && me) {
    release(server);
    const key = ev.type === "AssignmentTimedOut" ? "notice.timed_out" : "notice.released";
    return [{ notice: key, vars: { id: ev.callout_id, reason: ev.reason || "" }, level: "warn" }];
  } else if (ev.type === "CalloutCancelled" && mine) {
    release(server);
    const why = ev.code || ev.reason;
    return [{ notice: why ? "notice.cancelled_why" : "notice.cancelled", level: "warn",
      vars: { id: ev.callout_id, code: ev.code || "", reason: ev.reason || "" } }];
  } else if (ev.type === "UnitStatusChanged" && me) {
    unit.status = ev.status;
    unit.status_since = ev.at;
    const follows = wf && wf.follow[ev.status];
    if (current && follows) current.status = follows;
  } else if (ev.type === "UnitPositionReported" && me) {
    unit.position = ev.position;
    unit.position_at = ev.at;
  } else if (ev.type === "OutcomeRecorded" && mine) {
    server.job = null;
    server.route = null;
    if (unit) unit.callout_id = null;
    return [{ notice: "notice.closed", vars: { id: ev.callout_id }, level: "ok" }];
  } else if (ev.type === "ShiftStarted" && me) {
    unit.status = "available";
    unit.shift_ends_at = ev.ends_at;
    unit.crew = ev.crew;
    unit.competences = ev.competences || [];
  } else if (ev.type === "ShiftEnded" && me) {
    unit.status = "off_duty";
    unit.shift_ends_at = null;
    unit.crew = [];
    unit.competences = [];
  } else if (ev.type === "AlarmReceived" && mine) {
    current.alarms = [...(current.alarms || []), ev.alarm];
    current.priority = Math.min(current.priority, ev.alarm.priority);
  } else if (ev.type === "NoteAdded" && mine) {
    current.notes = [...(current.notes || []), { at: ev.at, actor: ev.actor, text: ev.text }];
  } else if (ev.type === "CalloutSplit" && mine) {
    current.alarms = (current.alarms || []).filter((a) => a.alarm_id !== ev.alarm_id);
  } else if (ev.type === "CalloutsMerged" && current && ev.target_id === current.callout_id) {
    return [{ resync: true }];
  }
  return [];
}
