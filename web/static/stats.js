// The monthly statistics page: pick a month, see every table of the report (counts under 5
// shown as <5, as the server sends them), download it as XLSX, CSV (zip) or HTML.
import { token, clearToken, api, errorFrom, bindLoginForm } from "/static/lib/session.js";
import { register, t, applyI18n, langToggle, onLangChange } from "/static/lib/i18n.js";
import { errorText } from "/static/lib/errors.js";
import "/static/lib/vocab.js";
import { BY_ENGLISH } from "/static/stats_texts.js";

const KIND = "stats";
const $ = (id) => document.getElementById(id);

register({
  sv: {
    title: "Månadsstatistik", logout: "Logga ut", login_title: "Logga in",
    login_help: "Klistra in en token för chef eller larmoperatör.", token: "Token",
    login: "Logga in", month: "Månad", show: "Visa", download_xlsx: "Ladda ner XLSX",
    download_csv: "Ladda ner CSV", download_html: "Ladda ner rapport (HTML)",
    privacy: "Antal under 5 visas som <5; \"..\" döljer ytterligare ett antal där en summa annars skulle avslöja det. Rapporten visar aldrig fritext.",
    token_missing: "Klistra in din token.", token_refused: "Token nekades: {message}",
    month_missing: "Välj en månad.", loading: "Hämtar…",
    summary: "{callouts} utryckningar i {month} (tidszon {timezone}).",
    failed: "Kunde inte hämta statistiken: {message}",
  },
  en: {
    title: "Monthly statistics", logout: "Log out", login_title: "Log in",
    login_help: "Paste a manager's or dispatcher's token.", token: "Token", login: "Log in",
    month: "Month", show: "Show", download_xlsx: "Download XLSX", download_csv: "Download CSV",
    download_html: "Download report (HTML)",
    privacy: "Counts under 5 are shown as <5; \"..\" hides one more count where a total would give it away. The report never shows free text.",
    token_missing: "Paste your token.", token_refused: "Token refused: {message}",
    month_missing: "Choose a month.", loading: "Loading…",
    summary: "{callouts} callouts in {month} (time zone {timezone}).",
    failed: "Could not load the statistics: {message}",
  },
});

let report = null;

function showLogin(message = "") {
  $("app").hidden = true;
  $("logout").hidden = true;
  $("login").hidden = false;
  $("err-token").textContent = message;
  $("token-input").setAttribute("aria-invalid", message ? "true" : "false");
}

function cellText(cell) {
  if (cell === null || cell === undefined) return "";
  return String(cell);
}

/** A title, column, row label or note of the report in the page's language: the service's
 * English words looked up in the page's texts; what has no entry is data and shown as sent. */
function say(text) {
  const key = BY_ENGLISH.get(text);
  return key ? t(key) : text;
}

const LEGACY = " (legacy band)";
const CODES = { callouts_by_category: "category", outcomes: "outcome", alarms_by_agency: "agency",
  callouts_by_agencies: "agency" };

/** A row's label: a code (category, outcome, agencies joined by " + ") through the shared
 * vocabulary, a legacy age band as such, else through say(). */
function rowLabel(table, label) {
  if (typeof label !== "string") return cellText(label);
  if (label.endsWith(LEGACY)) return t("stats.legacy", { band: label.slice(0, -LEGACY.length) });
  const prefix = CODES[table.key];
  if (prefix) {
    const words = label.split(" + ").map((part) => {
      const key = `${prefix}.${part}`;
      return t(key) !== key ? t(key) : null;
    });
    if (words.every(Boolean)) return words.join(" + ");
  }
  return say(label);
}

function renderTable(table) {
  const section = document.createElement("section");
  section.className = "panel";
  section.id = `table-${table.key}`;
  if (table.columns.length > 6) section.classList.add("wide");
  const h2 = document.createElement("h2");
  h2.textContent = say(table.title);
  const el = document.createElement("table");
  el.className = "stats-table";
  if (table.key === "hour_weekday") el.classList.add("heat");
  const head = el.createTHead().insertRow();
  for (const col of table.columns) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = say(col.name);
    head.append(th);
  }
  const body = el.createTBody();
  const top = Math.max(5, ...table.rows.flatMap((r) => r.slice(1).filter((c) => typeof c === "number")));
  for (const row of table.rows) {
    const tr = body.insertRow();
    tr.dataset.label = cellText(row[0]);
    row.forEach((cell, i) => {
      const td = document.createElement(i ? "td" : "th");
      if (!i) td.scope = "row";
      td.textContent = i ? cellText(cell) : rowLabel(table, cell);
      if (cell === "<5" || cell === "..") td.classList.add("suppressed");
      if (i && table.key === "hour_weekday" && typeof cell === "number" && cell > 0) {
        td.style.backgroundColor = `rgba(11, 79, 156, ${(0.15 + 0.85 * cell / top).toFixed(2)})`;
        if (cell / top > 0.5) td.style.color = "#fff";
      }
      tr.append(td);
    });
  }
  section.append(h2, el);
  if (table.note) {
    const note = document.createElement("p");
    note.className = "stats-note";
    note.textContent = say(table.note);
    section.append(note);
  }
  return section;
}

function render() {
  const box = $("tables");
  box.replaceChildren();
  if (!report) return;
  $("summary").textContent = t("summary", report);
  for (const table of report.tables) box.append(renderTable(table));
}

// Only the latest request may draw: a slow answer for an earlier month (the default one asked
// for on start) must not replace the month the user picked since.
let latest = 0;

async function load(month) {
  const mine = ++latest;
  $("summary").textContent = t("loading");
  $("err-month").textContent = "";
  try {
    const answer = await api(`/api/stats/report?month=${encodeURIComponent(month)}`, { token: token(KIND) });
    if (mine !== latest) return;
    report = answer;
    render();
    $("app").dataset.month = month;
  } catch (err) {
    if (mine !== latest) return;
    if (err.status === 401 || err.status === 403) return showLogin(t("token_refused", { message: errorText(err) }));
    report = null;
    render();
    $("summary").textContent = "";
    $("err-month").textContent = t("failed", { message: errorText(err) });
  }
}

async function download(format) {
  const month = $("month").value;
  if (!month) return void ($("err-month").textContent = t("month_missing"));
  const res = await fetch(`/api/stats/report?month=${encodeURIComponent(month)}&format=${format}`, {
    headers: { Authorization: `Bearer ${token(KIND)}` },
  });
  if (!res.ok) {
    let body = null;
    try { body = await res.json(); } catch { body = null; }
    $("err-month").textContent = t("failed", { message: errorText(errorFrom(res.status, body)) });
    return;
  }
  const blob = await res.blob();
  const name = (res.headers.get("Content-Disposition") || "").match(/filename="([^"]+)"/);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name ? name[1] : `mae-stats-${month}.${format}`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function start() {
  $("login").hidden = true;
  $("app").hidden = false;
  $("logout").hidden = false;
  const now = new Date();
  if (!$("month").value) {
    $("month").value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  }
  load($("month").value);
}

langToggle($("lang"));
applyI18n();
onLangChange(render);
bindLoginForm(KIND, () => start(), () => t("token_missing"));
$("logout").addEventListener("click", () => {
  clearToken(KIND);
  showLogin();
});
$("month-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const month = $("month").value;
  if (!month) {
    $("err-month").textContent = t("month_missing");
    return;
  }
  load(month);
});
for (const button of document.querySelectorAll("[data-format]")) {
  button.addEventListener("click", () => download(button.dataset.format));
}

if (token(KIND)) start();
else showLogin();
