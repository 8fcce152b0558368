// Loud flags for assignments nobody acknowledged (red banner + a WebAudio beep, no audio
// files) and short toasts for command results.
import { t } from "/static/lib/i18n.js";
import { escapeHtml } from "./format.js";

let audio = null;

/** Create the audio context on a user gesture (browsers keep it silent otherwise). */
export function unlockAudio() {
  try {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
  } catch {
    audio = null;
  }
}

/** "running" when sound can play, "suspended" while the browser blocks it, "none" before
 * the first gesture made an audio context (or with no audio device). */
export function audioState() {
  return audio ? audio.state : "none";
}

/** Tones of ``freqs`` Hz, one after another, ``len`` seconds each (silent while blocked). */
export function tone(freqs, len) {
  try {
    if (!audio) return;
    const start = audio.currentTime + 0.02;
    freqs.forEach((f, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = f;
      gain.gain.setValueAtTime(0.0001, start + i * len);
      gain.gain.exponentialRampToValueAtTime(0.3, start + i * len + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + (i + 1) * len);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + i * len);
      osc.stop(start + (i + 1) * len + 0.02);
    });
  } catch {
    /* no audio device: the title and the queue still show it */
  }
}

/** Three short high beeps (counted in body[data-beeps], so one can tell it sounded). */
export function beep() {
  document.body.dataset.beeps = String(Number(document.body.dataset.beeps || 0) + 1);
  try {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    const start = audio.currentTime + 0.02;
    for (let i = 0; i < 3; i += 1) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.0001, start + i * 0.3);
      gain.gain.exponentialRampToValueAtTime(0.25, start + i * 0.3 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + i * 0.3 + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(start + i * 0.3);
      osc.stop(start + i * 0.3 + 0.22);
    }
  } catch {
    /* no audio device: the banner still shows */
  }
}

/** A warning triangle drawn inline (an emoji needs an emoji font, which a screen may lack);
 * hidden from screen readers: the banner's words say it. */
const ICON = '<svg class="alert-icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">'
  + '<path d="M12 2 23 22H1Z" fill="#ffffff" stroke="currentColor" stroke-width="1.5" stroke-linejoin="round"/>'
  + '<path d="M11 9h2v7h-2zm0 9h2v2h-2z" fill="#b91c1c"/></svg>';

export class Alerts {
  /** container: the banner area; onOffer(alert) offers the next-best unit. */
  constructor(container, { onOffer, onSelect }) {
    this.container = container;
    this.items = new Map(); // callout_id -> {callout_id, unit_id, kind, next_best}
    container.addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-action]");
      if (!btn) return;
      const item = this.items.get(btn.closest("[data-callout]").dataset.callout);
      if (!item) return;
      if (btn.dataset.action === "dismiss") this.remove(item.callout_id);
      else if (btn.dataset.action === "offer") onOffer(item);
      else if (btn.dataset.action === "select") onSelect(item.callout_id);
    });
  }

  /** Flag callout_id (kind "timeout" or "late"); loud = beep. Updates an existing flag. */
  flag({ callout_id, unit_id, kind, next_best = null, text = "", position = null }, { loud = true } = {}) {
    const old = this.items.get(callout_id);
    const fresh = !old || old.unit_id !== unit_id || old.kind !== kind || (text && old.text !== text);
    const item = { callout_id, unit_id, kind, text, position, next_best: next_best || (old && old.next_best) || null };
    this.items.set(callout_id, item);
    this.render();
    if (fresh && loud) beep();
  }

  has(calloutId) {
    return this.items.has(calloutId);
  }

  remove(calloutId) {
    if (this.items.delete(calloutId)) this.render();
  }

  clear() {
    this.items.clear();
    this.render();
  }

  render(unitName = this.unitName || ((id) => id)) {
    this.unitName = unitName;
    this.container.innerHTML = [...this.items.values()].map((a) => {
      if (a.kind === "assist" || a.kind === "message") { // a crew's panic alarm or message
        const text = t(`alert.${a.kind}`, { unit: unitName(a.unit_id), text: a.text || "",
          where: a.position ? `${a.position.lat.toFixed(4)}, ${a.position.lon.toFixed(4)}` : "–" });
        return `<div class="alert-banner ${a.kind}" role="alert" data-callout="${escapeHtml(a.callout_id)}" data-kind="${escapeHtml(a.kind)}">`
          + `<strong>${a.kind === "assist" ? ICON : ""}${escapeHtml(text)}</strong>`
          + `<button type="button" class="link" data-action="select">${escapeHtml(t("alert.show_unit"))}</button>`
          + `<button type="button" data-action="dismiss">${escapeHtml(t("alert.dismiss"))}</button></div>`;
      }
      const key = a.kind === "late" ? "alert.late" : a.unit_id ? "alert.timeout" : "alert.timeout_any";
      const text = t(key, { unit: unitName(a.unit_id), callout: a.callout_id });
      const nb = a.next_best;
      const offer = nb && nb.unit_id
        ? t("alert.offer", { unit: nb.name || nb.unit_id, min: nb.eta_min === null ? "–" : Math.round(nb.eta_min) })
        : t("alert.offer_any");
      return `<div class="alert-banner" role="alert" data-callout="${escapeHtml(a.callout_id)}" data-kind="${escapeHtml(a.kind)}">`
        + `<strong>${ICON}${escapeHtml(text)}</strong>`
        + `<button type="button" class="link" data-action="select">${escapeHtml(a.callout_id)}</button>`
        + `<button type="button" class="offer" data-command data-action="offer">${escapeHtml(offer)}</button>`
        + `<button type="button" data-action="dismiss">${escapeHtml(t("alert.dismiss"))}</button></div>`;
    }).join("");
  }
}

/** A short status line that fades after a few seconds. */
export function toast(el, text, { error = false } = {}) {
  el.textContent = text;
  el.className = `toast ${error ? "error" : "ok"}`;
  el.hidden = false;
  clearTimeout(el._timer);
  el._timer = setTimeout(() => { el.hidden = true; }, error ? 8000 : 3500);
}
