// Swedish/English texts for the MAE pages. Swedish is the default; the choice is remembered
// in localStorage "mae.lang". Pages register their dictionaries and mark elements with
// data-i18n (text), data-i18n-title, data-i18n-placeholder and data-i18n-aria-label.

const KEY = "mae.lang";
const LANGS = ["sv", "en"];
const dicts = { sv: {}, en: {} };
const listeners = new Set();

function stored() {
  try {
    const v = localStorage.getItem(KEY);
    return LANGS.includes(v) ? v : null;
  } catch {
    return null;
  }
}

let current = stored() || "sv";

/** Add texts: dict = {sv: {key: text}, en: {key: text}}; later keys win. */
export function register(dict) {
  for (const code of LANGS) Object.assign(dicts[code], (dict && dict[code]) || {});
}

/** The text for key in the current language ({name} filled from vars); falls back to
 * Swedish, then to the key itself so a missing text is visible, never blank. */
export function t(key, vars) {
  let text = dicts[current][key] ?? dicts.sv[key] ?? key;
  if (vars) {
    text = text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }
  return text;
}

/** A copy of every text registered for ``code`` (for checks that both languages are whole). */
export function textTable(code) {
  return { ...dicts[code] };
}

/** The current language code ("sv" or "en"). */
export function lang() {
  return current;
}

/** Switch language, remember it and re-apply texts to the document. */
export function setLang(code) {
  if (!LANGS.includes(code)) throw new Error(`unknown language ${code}`);
  current = code;
  try {
    localStorage.setItem(KEY, code);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  applyI18n(document);
  for (const fn of listeners) fn(code);
}

/** Call fn(code) after every language change (to re-render dynamic parts). */
export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

const ATTRS = [
  ["data-i18n-title", "title"],
  ["data-i18n-placeholder", "placeholder"],
  ["data-i18n-aria-label", "aria-label"],
];

/** Fill every [data-i18n] element's text and the data-i18n-* attributes under root. */
export function applyI18n(root = document) {
  if (root === document) document.documentElement.lang = current;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const [data, attr] of ATTRS) {
    for (const el of root.querySelectorAll(`[${data}]`)) el.setAttribute(attr, t(el.getAttribute(data)));
  }
}

/** Wire a button that flips between Swedish and English; it shows the other language. */
export function langToggle(button) {
  const show = () => {
    const other = current === "sv" ? "en" : "sv";
    button.textContent = other === "en" ? "English" : "Svenska";
    button.setAttribute("lang", other);
    button.setAttribute("aria-label", other === "en" ? "Switch to English" : "Byt till svenska");
  };
  button.type = "button";
  button.addEventListener("click", () => setLang(current === "sv" ? "en" : "sv"));
  onLangChange(show);
  show();
  return button;
}
