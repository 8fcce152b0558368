// Times as the service's people read them: always in Swedish local time (Europe/Stockholm),
// whatever zone the device is set to, with Intl.DateTimeFormat (no libraries). Also the way
// back: a "YYYY-MM-DDTHH:MM" typed in a datetime-local input means Stockholm time.

export const TIME_ZONE = "Europe/Stockholm";

const formats = new Map();

function formatter(locale, options) {
  const key = `${locale}|${JSON.stringify(options)}`;
  if (!formats.has(key)) formats.set(key, new Intl.DateTimeFormat(locale, { ...options, timeZone: TIME_ZONE }));
  return formats.get(key);
}

function toDate(value) {
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** ``value`` (ISO text, Date or ms) formatted in Stockholm time; "" for no or a bad time. */
export function formatStockholm(value, locale, options) {
  if (value === null || value === undefined || value === "") return "";
  const d = toDate(value);
  return d ? formatter(locale, options).format(d) : "";
}

/** ``value``'s clock time in Stockholm, 24 h: HH:MM, or HH:MM:SS with ``seconds``; "" for no or
 * a bad time. */
export function stockholmClock(value, locale, { seconds = false } = {}) {
  return formatStockholm(value, locale, seconds
    ? { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" }
    : { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

/** The wall-clock fields of ``value`` in Stockholm: {year, month, day, hour, minute, second}. */
export function stockholmParts(value) {
  const d = toDate(value);
  if (!d) return null;
  const parts = formatter("en-GB", {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23",
  }).formatToParts(d);
  const out = {};
  for (const p of parts) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out;
}

/** The Stockholm calendar day of ``value`` as "YYYY-MM-DD" (for same-day comparisons). */
export function stockholmDay(value) {
  const p = stockholmParts(value);
  if (!p) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)}`;
}

/** How far Stockholm's clock is ahead of UTC at the instant ``ms`` (3600000 or 7200000). */
export function stockholmOffsetMs(ms) {
  const p = stockholmParts(ms);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant a Stockholm wall-clock time "YYYY-MM-DDTHH:MM[:SS]" (a datetime-local value)
 * names, as a Date; null when the text is not such a time. In the autumn's repeated hour the
 * earlier instant is taken; a time skipped in spring moves on by the hour that was skipped.
 */
export function fromStockholmLocal(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(text || "").trim());
  if (!m) return null;
  const [year, month, day, hour, minute, second = 0] = m.slice(1).map((x) => Number(x || 0));
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  if (Number.isNaN(wall) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) return null;
  // Stockholm is UTC+1 or UTC+2: try both offsets and keep the earliest that reads back right.
  const candidates = [wall - 2 * 3600000, wall - 3600000].filter((ms) => stockholmOffsetMs(ms) === wall - ms);
  return new Date(candidates.length ? candidates[0] : wall - 3600000); // the spring gap: CET
}

/** ``value`` as a datetime-local value ("YYYY-MM-DDTHH:MM") in Stockholm time. */
export function toStockholmLocal(value) {
  const p = stockholmParts(value);
  if (!p) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${p.year}-${pad(p.month)}-${pad(p.day)}T${pad(p.hour)}:${pad(p.minute)}`;
}
