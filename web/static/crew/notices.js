// The notice area under the crew page's header: warnings, errors and success notes (a success
// fades away by itself, the rest stay until dismissed), and the new-job notice, which beeps,
// leads to the job's card with a tap and names the job in the page's title until it is
// acknowledged. Notices are kept with the unit's stored state, so they survive a reload.
import { t } from "/static/lib/i18n.js";
import { alarm } from "/static/crew/alert.js";

const $ = (id) => document.getElementById(id);

/** How long a success notice ("job closed") stays before it fades away by itself; warnings and
 * errors stay until dismissed. */
const OK_NOTICE_MS = 5000;
const FADE_MS = 400;
const KEPT = 8; // the newest notices kept; older ones drop off

/** The notices stick just below the sticky header, so one stays in view wherever the crew
 * has scrolled until it is dismissed. They come after the status bar, so they never cover it
 * (nor its "unsent" badge): they stick only once the bar has scrolled away under the header. */
function placeNotices() {
  const header = document.querySelector(".crew-header");
  if (header) document.documentElement.style.setProperty("--crew-header-h", `${header.offsetHeight}px`);
}
window.addEventListener("resize", placeNotices);

/** Show the new job's card (the tap on its notice), focused on its first step. */
function showJob() {
  const card = $("job");
  if (card.hidden) return;
  card.scrollIntoView({ block: "start" });
  const first = $("ack").hidden ? $("job-title") : $("ack");
  first.focus({ preventScroll: true });
}

export class Notices {
  /** ``store()`` is the unit's stored state (its ``notices`` list; replaced when another unit
   * logs in), ``persist()`` saves it. */
  constructor({ store, persist }) {
    this.store = store;
    this.persist = persist;
    this.alerts = 0; // new-job alerts raised since the page opened (the tests count them)
    this.fading = new Map(); // notice id -> timer that fades a success notice out
  }

  /** Add a notice; ``extra`` travels with it ({job: callout id}: a new job, opened by a tap;
   * {key, vars}: a text shown in the page's language, whichever it is when shown). */
  add(text, kind = "warn", extra = {}) {
    const server = this.store();
    server.notices = [...server.notices,
      { id: `${Date.now()}-${Math.random()}`, text, kind, ...extra }].slice(-KEPT);
    this.persist();
    this.render();
  }

  /** Remove notice ``id`` (dismissed, faded out, or its job acknowledged); saved and redrawn. */
  drop(id) {
    const server = this.store();
    const before = server.notices.length;
    server.notices = server.notices.filter((x) => x.id !== id);
    if (server.notices.length === before) return;
    this.persist();
    this.render();
  }

  /** Fade success notice ``n`` out after a while, then drop it (once per notice). */
  fadeLater(n) {
    if (this.fading.has(n.id)) return;
    this.fading.set(n.id, setTimeout(() => {
      const el = $("notices").querySelector(`[data-notice="${CSS.escape(n.id)}"]`);
      if (el) el.classList.add("fading");
      setTimeout(() => {
        this.fading.delete(n.id);
        this.drop(n.id);
      }, FADE_MS);
    }, OK_NOTICE_MS));
  }

  /** Draw the stored notices, each with its dismiss button; a new job's notice is a button
   * that leads to the card. */
  render() {
    placeNotices();
    $("notices").replaceChildren(...this.store().notices.map((n) => {
      const div = document.createElement("div");
      div.className = `notice ${n.kind} crew-notice`;
      div.dataset.notice = n.id;
      let p;
      if (n.job) { // a new job: the notice is the way to it, wherever the crew has scrolled
        div.dataset.job = n.job;
        p = document.createElement("button");
        p.type = "button";
        p.className = "notice-go";
        p.addEventListener("click", () => {
          this.drop(n.id);
          showJob();
        });
      } else {
        p = document.createElement("span");
      }
      p.textContent = n.key ? t(n.key, n.vars || {}) : n.text; // a key: in the page's language
      const close = document.createElement("button");
      close.type = "button";
      close.className = "dismiss";
      close.textContent = t("outbox.dismiss");
      close.addEventListener("click", () => this.drop(n.id));
      div.append(p, close);
      if (n.kind === "ok") this.fadeLater(n);
      return div;
    }));
  }

  /** A new job: beep and vibrate, and a notice that stays in view (the card may be scrolled
   * away) and leads to the card, with the page's title saying so (another tab, a locked screen). */
  newJob(job) {
    const server = this.store();
    this.alerts += 1;
    server.alerted = job.callout_id;
    document.body.dataset.alerts = String(this.alerts);
    const loc = job.location || {};
    const where = loc.label || loc.resolved_from || "";
    server.notices = server.notices.filter((n) => !n.job); // one new job at a time
    this.add("", "error", { job: job.callout_id, key: where ? "job.new.notice" : "job.new.notice.bare",
      vars: { id: job.callout_id, where } });
    alarm();
  }

  /** The new-job notice goes once the job is acknowledged (or gone); till then the page's title
   * says so too (another tab, the phone's list of apps). */
  followJob(job) {
    for (const n of this.store().notices) {
      if (n.job && !(job && job.callout_id === n.job && job.status === "assigned")) this.drop(n.id);
    }
    const fresh = job && job.status === "assigned";
    const title = fresh ? `${t("job.new.title", { id: job.callout_id })} – ${t("crew.title")}` : t("crew.title");
    if (document.title !== title) document.title = title;
  }
}
