// New alarms get noticed: a chime (two rising tones, unlike the three beeps of a missed
// acknowledgement), a count in the tab's title, and a sound switch in the header that says so
// when the browser still blocks sound (it does until the first click or key on the page).
// Waiting callouts escalate in colour with their priority and age (escalation()).
import { t } from "/static/lib/i18n.js";
import { audioState, tone, unlockAudio } from "./alerts.js";

const KEY = "mae.dispatch.sound";

/** Minutes waited after which a waiting callout of each priority turns amber, orange, red. */
export const ESCALATE_MIN = { 1: [1, 3, 5], 2: [5, 10, 20], 3: [15, 30, 60] };

/** How urgent a waiting callout has become: 0 (fresh) to 3 (waited far too long). */
export function escalation(callout, now) {
  if (callout.status !== "waiting") return 0;
  const steps = ESCALATE_MIN[callout.priority] || ESCALATE_MIN[3];
  const waited = (now.getTime() - Date.parse(callout.created_at)) / 60000;
  return steps.filter((m) => waited >= m).length;
}

export class NewAlarms {
  /** button: the header's sound switch; title: the page's own title. */
  constructor(button, { title }) {
    this.button = button;
    this.title = title;
    this.unseen = new Set();
    this.chimes = 0;
    try {
      this.on = localStorage.getItem(KEY) !== "off";
    } catch {
      this.on = true;
    }
    // Whether sound was blocked when this press began: the page unlocks audio on any press
    // (after the button sees it), so by the click it would always look allowed.
    let wasBlocked = false;
    const note = () => { wasBlocked = this.on && audioState() !== "running"; };
    button.addEventListener("pointerdown", note);
    button.addEventListener("keydown", note);
    button.addEventListener("click", () => {
      if (wasBlocked) unlockAudio(); // blocked: this click allows it, sound stays on
      else this.setOn(!this.on);
      wasBlocked = false;
      this.render();
    });
    setInterval(() => this.render(), 1000); // the browser may allow or suspend sound any time
    this.render();
  }

  setOn(on) {
    this.on = on;
    try {
      localStorage.setItem(KEY, on ? "on" : "off");
    } catch {
      /* not remembered: still switched for this visit */
    }
  }

  /** A new callout arrived live: chime (if sound is on) and count it until it is looked at. */
  arrived(calloutId) {
    this.unseen.add(calloutId);
    if (this.on) { // counted in body[data-chimes], so one can tell it sounded
      this.chimes += 1;
      document.body.dataset.chimes = String(this.chimes);
      tone([660, 880], 0.18);
    }
    this.render();
  }

  /** The dispatcher looked at it (selected), or it no longer waits. */
  seen(calloutId) {
    if (this.unseen.delete(calloutId)) this.render();
  }

  render() {
    const n = this.unseen.size;
    document.title = n ? `(${n}) ${this.title()}` : this.title();
    const state = audioState();
    const blocked = this.on && state !== "running";
    const b = this.button;
    b.dataset.sound = !this.on ? "off" : blocked ? "blocked" : "on";
    b.setAttribute("aria-pressed", String(this.on));
    b.textContent = t(!this.on ? "sound.off" : blocked ? "sound.blocked" : "sound.on");
    b.title = t(blocked ? "sound.blocked_help" : "sound.help");
  }
}
