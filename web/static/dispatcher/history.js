// The history dialog: closed and cancelled callouts found by id, agency reference or place and
// filtered by priority, agency, status and day (GET /api/history); a row opens the callout in
// the detail panel with its full timeline; a day's callouts download as CSV.
import { t } from "/static/lib/i18n.js";
import { api } from "/static/lib/session.js";
import { errorText } from "/static/lib/errors.js";
import { escapeHtml, fmtTime } from "./format.js";
import { stockholmParts } from "/static/lib/time.js";

const $ = (id) => document.getElementById(id);

/** Today in Stockholm as YYYY-MM-DD (the export's default day). */
function today(now) {
  const p = stockholmParts(now);
  return `${p.year}-${String(p.month).padStart(2, "0")}-${String(p.day).padStart(2, "0")}`;
}

export class History {
  /** token(): the dispatcher's token; now(): the service's time; onOpen(id): show a callout. */
  constructor({ token, now, onOpen }) {
    this.token = token;
    this.now = now;
    this.onOpen = onOpen;
    this.dialog = $("history");
    $("history-button").addEventListener("click", () => this.open());
    $("history-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.search();
    });
    $("history-export").addEventListener("click", () => this.exportDay());
    $("history-results").addEventListener("click", (ev) => {
      const row = ev.target.closest("[data-callout]");
      if (!row) return;
      this.dialog.close();
      this.onOpen(row.dataset.callout);
    });
  }

  open() {
    if (!$("history-date").value) $("history-date").value = today(this.now());
    this.dialog.showModal();
    $("history-q").focus();
    this.search();
  }

  params() {
    const p = new URLSearchParams();
    for (const [key, id] of [["q", "history-q"], ["priority", "history-priority"],
      ["agency", "history-agency"], ["status", "history-status"], ["date", "history-date"]]) {
      const v = $(id).value.trim();
      if (v) p.set(key, v);
    }
    return p;
  }

  async search() {
    const out = $("history-results");
    $("history-error").textContent = "";
    try {
      const reply = await api(`/api/history?${this.params()}`, { token: this.token() });
      $("history-count").textContent = t("history.count", { n: reply.total });
      out.innerHTML = reply.callouts.length ? reply.callouts.map((c) => `<tr data-callout="${escapeHtml(c.callout_id)}" tabindex="0">`
        + `<td>${escapeHtml(fmtTime(c.created_at).slice(0, 5))}</td><td><strong>${escapeHtml(c.callout_id)}</strong></td>`
        + `<td><span class="prio-badge prio-${c.priority}">${c.priority}</span></td>`
        + `<td>${escapeHtml(c.agencies.map((a) => t(`agency.${a}`)).join(", "))} ${escapeHtml(c.references.join(", "))}</td>`
        + `<td>${escapeHtml(c.place)}</td>`
        + `<td>${escapeHtml(t(`callout.${c.status}`))}${c.cancel_code ? ` – ${escapeHtml(t(`cancel.code.${c.cancel_code}`))}` : ""}`
        + `${c.outcome ? ` – ${escapeHtml(t(`outcome.${c.outcome}`))}` : ""}</td>`
        + `<td>${c.response_min === null ? "–" : escapeHtml(t("history.minutes", { min: Math.round(c.response_min) }))}</td></tr>`).join("")
        : `<tr><td colspan="7" class="muted">${escapeHtml(t("history.none"))}</td></tr>`;
    } catch (exc) {
      $("history-error").textContent = t("toast.error", { message: errorText(exc) });
    }
  }

  /** Download the chosen day's callouts as CSV (fetched with the token, saved as a file). */
  async exportDay() {
    const day = $("history-date").value || today(this.now());
    $("history-error").textContent = "";
    try {
      const res = await fetch(`/api/history/export.csv?date=${encodeURIComponent(day)}`, {
        headers: { Authorization: `Bearer ${this.token()}` } });
      if (!res.ok) throw new Error(`${res.status}`);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = `mae-${day}.csv`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (exc) {
      $("history-error").textContent = t("toast.error", { message: errorText(exc) });
    }
  }
}
