// The outcome form that closes a job: how it ended (the workflow's outcome kinds; one that the
// MAE car's own drive ends waits for Transporting), the facility when the patient was taken
// somewhere, the care questions (yes / no / unknown, never a name) and an optional follow-up
// visit, typed in Swedish time from now to a year ahead.
import { t } from "/static/lib/i18n.js";
import { fromStockholmLocal, toStockholmLocal } from "/static/lib/time.js";

const $ = (id) => document.getElementById(id);

const FOLLOW_UP_AHEAD_MS = 366 * 86400e3; // the service books follow-ups up to 366 days ahead

/** Build the outcome kinds' radio buttons from ``workflow`` (once; nothing without a workflow). */
export function buildOutcomeKinds(workflow) {
  const box = $("outcome-kinds");
  if (!workflow || box.childElementCount) return;
  for (const { kind, transport, after_transporting: after } of workflow.outcome_kinds) {
    const label = document.createElement("label");
    label.className = "choice";
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "outcome-kind";
    input.value = kind;
    input.dataset.transport = String(transport);
    const span = document.createElement("span");
    span.dataset.i18n = `outcome.${kind}`;
    span.textContent = t(`outcome.${kind}`);
    label.append(input, span);
    if (after) { // the server takes it only once Transporting is reported (the drive is logged)
      input.dataset.afterTransporting = "true";
      const hint = document.createElement("small");
      hint.className = "choice-hint";
      hint.dataset.i18n = "outcome.after_transporting";
      hint.textContent = t("outcome.after_transporting");
      label.append(hint);
    }
    box.append(label);
  }
}

/** Show the form only while ``job`` can be closed, and gate its kinds and follow-up times
 * (``now``: the service's time). */
export function renderOutcome(job, workflow, now) {
  $("outcome-panel").hidden = !(job && workflow && workflow.closable.includes(job.status));
  gateOutcomeKinds(job, now);
}

/** An outcome the MAE car's own drive ends (transport by MAE) waits for Transporting; a
 * follow-up can be booked from ``now`` to a year ahead, in Swedish time. */
function gateOutcomeKinds(job, now) {
  const open = Boolean(job) && job.status === "transporting";
  for (const input of document.querySelectorAll("input[data-after-transporting]")) {
    input.disabled = !open;
    if (!open) input.checked = false;
    const hint = input.parentElement.querySelector(".choice-hint");
    if (hint) hint.hidden = open;
  }
  $("followup-at").min = toStockholmLocal(now);
  $("followup-at").max = toStockholmLocal(new Date(now.getTime() + FOLLOW_UP_AHEAD_MS));
}

/** The follow-up's time field shows only while a follow-up is ticked. */
export function toggleFollowUp() {
  $("followup-box").hidden = !$("followup").checked;
}

/** The outcome message for ``job`` from the filled-in form (the form is then cleared), or null
 * with each missing or wrong field's error shown; ``now`` is the service's time. */
export function outcomeMessage(job, now) {
  if (!job) return null;
  const chosen = document.querySelector("input[name=outcome-kind]:checked");
  const facility = $("outcome-facility").value.trim();
  const followUp = $("followup").checked;
  const at = $("followup-at").value;
  const when = followUp ? fromStockholmLocal(at) : null;
  const nowMs = now.getTime();
  const errors = {
    "outcome-kind-error": chosen ? "" : t("outcome.kind.missing"),
    "outcome-facility-error": chosen && chosen.dataset.transport === "true" && !facility ? t("outcome.facility.missing") : "",
    "followup-error": !followUp ? "" : !when ? t("outcome.followup.missing")
      : when.getTime() < nowMs - 60e3 || when.getTime() > nowMs + FOLLOW_UP_AHEAD_MS
        ? t("outcome.followup.range") : "",
  };
  for (const [id, text] of Object.entries(errors)) $(id).textContent = text;
  $("outcome-facility").setAttribute("aria-invalid", String(Boolean(errors["outcome-facility-error"])));
  if (Object.values(errors).some(Boolean)) return null;
  const msg = { type: "outcome", callout_id: job.callout_id, kind: chosen.value, facility };
  for (const box of document.querySelectorAll("#care-questions [data-question]")) {
    const answer = box.querySelector("input:checked"); // yes / no / unknown, never a name
    msg[box.dataset.question] = answer ? answer.value : "unknown";
  }
  if (followUp) msg.follow_up_at = when.toISOString(); // typed in Swedish time
  $("outcome-form").reset();
  $("followup-box").hidden = true;
  return msg;
}
