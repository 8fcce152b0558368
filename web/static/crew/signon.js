// Signing on and off: who is on board (a name and a role per person, rows added and removed),
// what they can do (the unit's competences from the region file, e.g. doctor, offered ticked:
// the crew unticks what is missing today) and when the shift ends, prefilled from the unit's
// rota shift (an extra shift outside the rota needs the end typed). On shift the panel shows
// the crew, the shift's competences and the end. Times are typed and shown in Swedish time,
// like the rest of the page. The sign-on goes through the outbox, so it is queued offline.
import { t } from "/static/lib/i18n.js";
import { fromStockholmLocal, toStockholmLocal } from "/static/lib/time.js";
import { fmtTime } from "/static/crew/jobview.js";

export const ROLES = ["nurse", "doctor", "driver", "student", "other"];
const MAX_CREW = 6;

const $ = (id) => document.getElementById(id);

/** A competence's name in the current language (a region may name ones the page has no word for). */
export function competenceText(name) {
  const key = `competence.${name}`;
  const text = t(key);
  return text === key ? name : text;
}

export class SignOn {
  constructor() {
    this.rota = null; // this unit's row of the server's rota reply: {current, next, sign_on, ...}
    this.endsTouched = false; // the crew typed an end: the rota no longer overwrites it
    this.offered = ""; // the unit's competences the form offers, as JSON (rebuilt when they change)
    $("crew-add").addEventListener("click", () => {
      this.addRow();
      this.rows().at(-1).querySelector(".crew-name").focus();
    });
    $("shift-ends").addEventListener("input", () => { this.endsTouched = true; });
    this.addRow();
  }

  rows() {
    return [...$("crew-rows").querySelectorAll(".crew-row")];
  }

  addRow(name = "", role = "nurse") {
    if (this.rows().length >= MAX_CREW) return;
    const row = document.createElement("div");
    row.className = "crew-row";
    const n = this.rows().length + 1;
    const input = document.createElement("input");
    input.className = "crew-name";
    input.autocomplete = "off";
    input.maxLength = 60;
    input.value = name;
    input.id = `crew-name-${Date.now()}-${n}`;
    const label = document.createElement("label");
    label.htmlFor = input.id;
    label.className = "crew-name-label";
    const select = document.createElement("select");
    select.className = "crew-role";
    for (const r of ROLES) {
      const opt = document.createElement("option");
      opt.value = r;
      select.append(opt);
    }
    select.value = role;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "crew-remove";
    remove.textContent = "✕";
    remove.addEventListener("click", () => {
      if (this.rows().length > 1) row.remove();
      this.renderTexts();
    });
    row.append(label, input, select, remove);
    $("crew-rows").append(row);
    this.renderTexts();
  }

  /** Offer the unit's registered competences, ticked; kept as the crew left them until the
   * unit's list itself changes. */
  setCompetences(names) {
    const list = Array.isArray(names) ? names : [];
    const key = JSON.stringify(list);
    if (key === this.offered) return;
    this.offered = key;
    $("shift-competences").replaceChildren(...list.map((name, i) => {
      const label = document.createElement("label");
      label.className = "choice";
      const box = document.createElement("input");
      box.type = "checkbox";
      box.className = "shift-competence";
      box.value = name;
      box.checked = true;
      box.id = `shift-competence-${i}`;
      const span = document.createElement("span");
      label.append(box, span);
      return label;
    }));
    $("shift-competences-box").hidden = list.length === 0;
  }

  /** The competences ticked on the form. */
  competences() {
    return [...$("shift-competences").querySelectorAll(".shift-competence")].filter((b) => b.checked).map((b) => b.value);
  }

  /** Labels in the current language (the rows are built here, not from the HTML). */
  renderTexts() {
    for (const box of $("shift-competences").querySelectorAll(".shift-competence")) {
      box.nextElementSibling.textContent = competenceText(box.value);
    }
    const rows = this.rows();
    for (const row of rows) {
      row.querySelector(".crew-name-label").textContent = t("shift.name");
      const select = row.querySelector(".crew-role");
      select.setAttribute("aria-label", t("shift.role"));
      for (const opt of select.options) opt.textContent = t(`role.${opt.value}`);
      const remove = row.querySelector(".crew-remove");
      remove.disabled = rows.length <= 1; // at least one person
      remove.setAttribute("aria-label", t("shift.remove", { name: row.querySelector(".crew-name").value || "–" }));
    }
    $("crew-add").disabled = rows.length >= MAX_CREW;
    const s = this.rota && this.rota.sign_on;
    $("shift-rota").textContent = s ? t("shift.rota", { start: fmtTime(s.starts_at), end: fmtTime(s.ends_at) }) : t("shift.extra");
    $("shift-rota").dataset.rota = s ? "due" : "extra";
  }

  /** The unit's rota row from the server: prefill the shift's end unless the crew typed one. */
  setRota(row) {
    this.rota = row || null;
    const s = this.rota && this.rota.sign_on;
    if (s && !this.endsTouched) $("shift-ends").value = toStockholmLocal(s.ends_at);
    this.renderTexts();
  }

  /** Off duty: the sign-on form first on the page; on shift: the crew and the shift's end. */
  render(unit, job) {
    const off = Boolean(unit) && unit.status === "off_duty";
    $("shift-form").hidden = !off;
    $("shift-on").hidden = !unit || off;
    $("shift-panel").dataset.off = String(off);
    $("shift-end").hidden = !unit || off || Boolean(job) || !["available", "returning", "unavailable"].includes(unit.status);
    $("shift-panel").hidden = !unit;
    if (off) this.setCompetences(unit.registered_competences);
    if (unit && !off) {
      const can = unit.competences || [];
      $("shift-competence-list").textContent = can.length ? t("shift.can", { list: can.map(competenceText).join(", ") }) : "";
      $("shift-until").textContent = unit.shift_ends_at ? t("shift.until", { time: fmtTime(unit.shift_ends_at) }) : "";
      $("shift-crew-list").replaceChildren(...(unit.crew || []).map((m) => {
        const li = document.createElement("li");
        li.textContent = `${m.name} (${t(`role.${m.role}`)})`;
        return li;
      }));
    }
    this.renderTexts();
  }

  /** The shift_start message from the form, or null after marking what is missing. */
  message() {
    const crew = this.rows()
      .map((row) => ({ name: row.querySelector(".crew-name").value.trim(), role: row.querySelector(".crew-role").value }))
      .filter((m) => m.name);
    const ends = fromStockholmLocal($("shift-ends").value);
    $("crew-error").textContent = crew.length ? "" : t("shift.crew.missing");
    $("shift-ends-error").textContent = ends ? "" : t("shift.ends.missing"); // the server says if it is past
    if (!crew.length || !ends) return null;
    return { type: "shift_start", crew, ends_at: ends.toISOString(), competences: this.competences() };
  }

  /** After a sign-on was queued: a fresh form for the next one. */
  reset() {
    for (const row of this.rows().slice(1)) row.remove();
    this.rows()[0].querySelector(".crew-name").value = "";
    this.endsTouched = false;
    const offered = JSON.parse(this.offered || "[]");
    this.offered = ""; // all ticked again for the next sign-on
    this.setCompetences(offered);
    this.setRota(this.rota);
  }
}
