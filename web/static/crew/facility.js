// Where the patient is taken: the facility field under the status buttons. While transporting,
// the card names the destination (the facility typed, or else the nearest psychiatric emergency
// unit on the map), the route and the navigation app's link follow it, and the crew's choice is
// kept with the unit's stored state so it survives a reload. The facility reported at ("Vid
// mottagning") is carried into the outcome form.
import { t } from "/static/lib/i18n.js";
import { geoLink } from "/static/crew/jobview.js";

const $ = (id) => document.getElementById(id);

export class FacilityChoice {
  /** ``store()`` is the unit's stored state (replaced when another unit logs in), ``persist()``
   * saves it, ``facilities()`` lists the map's facilities ({name, lat, lon, kinds}). */
  constructor({ store, persist, facilities }) {
    this.store = store;
    this.persist = persist;
    this.facilities = facilities;
    this.job = null; // the job the facility field belongs to
    this.auto = null; // "callout|facility" the page put in the field itself
    this.prefilledFor = null; // the job whose outcome form got the facility already
  }

  /** The facility the crew typed in the field ("" when none). */
  typed() {
    return $("facility").value.trim();
  }

  /** ``store()[key]`` ({callout_id, name}: a facility the crew chose or reported at) when it
   * belongs to ``job``, else "". */
  held(key, job) {
    const held = this.store()[key];
    return job && held && typeof held === "object" && held.callout_id === job.callout_id
      && typeof held.name === "string" ? held.name : "";
  }

  /** Where the route goes: the callout, or, while transporting, the facility the crew typed (a
   * map facility) or else the nearest psychiatric emergency unit. */
  destination(job, unit) {
    if (!job || job.status !== "transporting") return null;
    const facilities = this.facilities();
    const typed = this.typed();
    if (typed && facilities.some((f) => f.name === typed)) return typed;
    const from = (unit && unit.position) || job.location;
    const emergency = facilities.filter((f) => (f.kinds || [f.kind]).includes("psychiatric_emergency"));
    if (!from || !emergency.length) return null;
    const d = (f) => (f.lat - from.lat) ** 2 + ((f.lon - from.lon) * Math.cos((from.lat * Math.PI) / 180)) ** 2;
    return emergency.reduce((a, b) => (d(b) < d(a) ? b : a)).name;
  }

  /** While transporting, the card says where to: the facility in the field, which starts as
   * the route's destination so "Vid mottagning" needs no typing, and which the crew can change
   * before arriving. A new job starts the field empty (the last job's facility is not this one's). */
  render(job, unit) {
    const field = $("facility");
    if (job && job.callout_id !== this.job) {
      field.value = this.held("destination", job);
      this.job = job.callout_id;
      this.auto = null;
    }
    const transporting = Boolean(job) && job.status === "transporting" && Boolean(unit) && unit.status === "transporting";
    $("job-dest-label").hidden = !transporting;
    $("job-dest-box").hidden = !transporting;
    if (!transporting) return;
    const to = this.destination(job, unit);
    if (to && !field.value.trim() && this.auto === null) {
      field.value = to;
      this.auto = `${job.callout_id}|${to}`;
    }
    const typed = field.value.trim();
    const known = this.facilities().find((f) => f.name === (typed || to));
    $("job-dest").textContent = typed || to || t("job.destination.pending");
    $("job-dest-note").textContent = !typed ? ""
      : this.auto === `${job.callout_id}|${typed}` ? t("job.destination.nearest")
        : !known && to ? t("job.destination.offmap", { name: to }) : "";
    const nav = $("job-dest-nav"); // the phone's navigation app, to the facility (not the pickup)
    nav.hidden = !known;
    if (known) {
      nav.href = geoLink(known.lat, known.lon, known.name);
      $("job-nav").hidden = true;
    }
  }

  /** The facility the crew reported at ("Vid mottagning") goes into the outcome form, unless
   * the crew has typed one there already. */
  prefillOutcome(unit, job) {
    if (!job || !unit || unit.status !== "at_facility") return;
    const typed = this.held("facility", job) || this.typed();
    const field = $("outcome-facility");
    if (typed && !field.value.trim() && this.prefilledFor !== job.callout_id) {
      field.value = typed;
      this.prefilledFor = job.callout_id;
    }
  }

  /** The crew changed the field: keep the choice for ``job`` with the unit's state (it
   * outlives a reload; an empty field drops it). */
  choose(job) {
    const name = this.typed();
    if (job) {
      this.store().destination = name ? { callout_id: job.callout_id, name } : null;
      this.persist();
    }
  }

  /** The card's "change" link: take the crew to the field, its text selected for typing over. */
  edit() {
    $("facility").focus();
    $("facility").select();
    $("facility-box").scrollIntoView({ block: "center" });
  }

  /** The facility a status that needs one reports (null, with the field flagged and focused,
   * when it is empty); it is kept for ``job`` so the outcome form gets it, after a reload too. */
  forStatus(job) {
    const facility = this.typed();
    $("facility-error").textContent = facility ? "" : t("status.facility.missing");
    $("facility").setAttribute("aria-invalid", String(!facility));
    if (!facility) {
      $("facility").focus();
      return null;
    }
    if (job) {
      this.store().facility = { callout_id: job.callout_id, name: facility };
      this.persist();
    }
    return facility;
  }
}
