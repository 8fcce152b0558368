// The job card's actions: acknowledging a new job and the status buttons (På väg, På plats,
// ...). Only the workflow's legal next steps are enabled; a press goes through the outbox,
// stamped with the service's time, so it counts from the press even when sent later.
import { t } from "/static/lib/i18n.js";
import { allowedStatuses } from "/static/crew/state.js";

const $ = (id) => document.getElementById(id);

export class StatusButtons {
  /** ``workflow()`` is the page's workflow (null until loaded), ``current()`` the projected
   * {unit, job}, ``facility`` the facility choice, ``enqueue(msg)`` queues in the outbox and
   * ``now()`` is the service's time. */
  constructor({ workflow, current, facility, enqueue, now }) {
    Object.assign(this, { workflow, current, facility, enqueue, now });
  }

  /** The status buttons (built once from the workflow): only the legal next steps are enabled,
   * the unit's own status pressed; the facility field shows when a next step needs one. */
  render(unit, job) {
    const wf = this.workflow();
    const box = $("status-buttons");
    if (wf && box.childElementCount === 0) {
      for (const s of wf.reportable) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "status-button";
        b.dataset.status = s;
        b.addEventListener("click", () => this.report(s));
        box.append(b);
      }
    }
    const allowed = allowedStatuses(unit, job, wf);
    for (const b of box.querySelectorAll("button")) {
      b.textContent = t(`status.${b.dataset.status}`);
      b.disabled = !allowed.has(b.dataset.status);
      b.setAttribute("aria-pressed", String(Boolean(unit) && unit.status === b.dataset.status));
    }
    $("facility-box").hidden = !(wf && wf.needs_facility.some((s) => allowed.has(s)));
  }

  /** Queue a status press (with the facility, when the status needs one; none typed: nothing). */
  report(status) {
    const { job } = this.current();
    const wf = this.workflow();
    const msg = { type: "status", status };
    if (wf && wf.needs_facility.includes(status)) {
      const name = this.facility.forStatus(job); // prefilled into the outcome form, after a reload too
      if (!name) return;
      msg.facility = name;
    }
    if (job) msg.callout_id = job.callout_id;
    // When the crew pressed, on the service's clock: a status that waits offline still counts
    // from the press (the service bounds it; the outbox keeps it as it was pressed).
    msg.pressed_at = this.now().toISOString();
    this.enqueue(msg);
  }

  /** Acknowledge the new job; the button hides with it, so focus goes on to the next step
   * (På väg), not back to the page's body. */
  acknowledge() {
    const { job } = this.current();
    if (!job) return;
    const focused = document.activeElement === $("ack");
    this.enqueue({ type: "ack", callout_id: job.callout_id });
    if (focused && $("ack").hidden) {
      const next = $("status-buttons").querySelector("button:not(:disabled)");
      if (next) next.focus();
    }
  }
}
