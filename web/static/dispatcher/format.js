// Small formatting helpers and the page's estimate of the server's clock.
import { lang } from "/static/lib/i18n.js";
import { stockholmClock, stockholmDay } from "/static/lib/time.js";

export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

/** The server's "now": the local clock plus the offset learnt from the server's timestamps
 * (the service may run on a simulated or replayed clock). A replay's clock runs at its speed
 * while it plays and stands still while paused: ``rate`` simulated ms per local ms. */
export const serverClock = {
  offsetMs: null, // null until the server's time is known
  rate: 1,
  _at: 0, // the server's ms at local ms _local
  _local: 0,
  now() {
    if (this.offsetMs === null) return new Date();
    return new Date(this._at + (Date.now() - this._local) * this.rate);
  },
  /** An authoritative server time (a reply stamped "now", a replay clock message with its
   * rate: its speed while playing, 0 while paused). */
  set(iso, { rate = 1 } = {}) {
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return;
    this._at = ms;
    this._local = Date.now();
    this.rate = rate;
    this.offsetMs = ms - this._local;
  },
  /** An event's time: the server's clock is at least that far. */
  atLeast(iso) {
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return;
    if (this.offsetMs === null || ms > this.now().getTime()) this.set(iso, { rate: this.rate });
  },
};

function pad(n) {
  return String(n).padStart(2, "0");
}

/** Elapsed time since iso, as m:ss or h:mm:ss. */
export function fmtAge(iso, now) {
  const s = Math.max(0, Math.floor((now.getTime() - Date.parse(iso)) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** Swedish clock time HH:MM:SS (24 h, Europe/Stockholm whatever the device's zone). */
export function fmtTime(iso) {
  return stockholmClock(iso, lang() === "sv" ? "sv-SE" : "en-GB", { seconds: true });
}

/** Clock time HH:MM in Stockholm (24 h): where seconds say nothing, as on the visits' scale. */
export function fmtClock(iso) {
  return stockholmClock(iso, lang() === "sv" ? "sv-SE" : "en-GB");
}

export function fmtMinutes(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  return String(Math.round(seconds / 60));
}

export function fmtPeople(n) {
  return Number(n || 0).toLocaleString(lang() === "sv" ? "sv-SE" : "en-GB");
}

/** Same calendar day (in Stockholm) as the server's now. */
export function sameDay(iso, now) {
  const day = stockholmDay(iso);
  return day !== "" && day === stockholmDay(now);
}
