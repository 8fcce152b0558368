// Where the crew page keeps what it knows between visits, per unit: the server's last state
// (unit, job with notes, route, the day's follow-up visits) under "mae.crew.state.<unit id>"
// and the outbox under "mae.crew.outbox.<unit id>".
// "mae.crew.unit" remembers which unit the stored token's principal was bound to, so after a
// reload the page shows that unit's state at once (offline too), while a login with another
// token shows nothing until the server says which unit it is.

const BINDING_KEY = "mae.crew.unit";
// Copies kept under one key for every unit by builds before the keys named the unit: they may
// hold a job's notes, so they are removed (never read) whenever a token is bound or forgotten.
const UNKEYED = ["mae.crew.state", "mae.crew.outbox"];

export const stateKey = (unitId) => `mae.crew.state.${unitId}`;
export const outboxKey = (unitId) => `mae.crew.outbox.${unitId}`;

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key) || "null");
  } catch {
    return null; // a broken copy: start from the server's snapshot
  }
}

function remove(...keys) {
  try {
    for (const key of keys) localStorage.removeItem(key);
  } catch (exc) {
    console.error(exc);
  }
}

/** The principal id a token names ("mae_<principal>_<secret>"), or null. */
export function principalOf(token) {
  const m = /^mae_([^_]+)_/.exec(token || "");
  return m ? m[1] : null;
}

/** The unit the principal of ``token`` was last seen bound to, or null. */
export function boundUnit(token) {
  const b = read(BINDING_KEY);
  const principal = principalOf(token);
  return b && principal && b.principal === principal && typeof b.unit_id === "string" ? b.unit_id : null;
}

/** Remember that ``token``'s principal is bound to ``unitId``. */
export function bindToken(token, unitId) {
  try {
    localStorage.setItem(BINDING_KEY, JSON.stringify({ principal: principalOf(token), unit_id: unitId }));
  } catch (exc) {
    console.error(exc);
  }
  remove(...UNKEYED);
}

/** The stored state of ``unitId`` (an object), or null. */
export function loadState(unitId) {
  const s = unitId ? read(stateKey(unitId)) : null;
  return s && typeof s === "object" ? s : null;
}

export function saveState(unitId, server) {
  if (!unitId) return;
  try {
    localStorage.setItem(stateKey(unitId), JSON.stringify(server));
  } catch (exc) {
    console.error(exc);
  }
}

/** Forget ``unitId``'s stored state (the day's visits with it) and outbox and which unit the
 * token was bound to. */
export function forget(unitId) {
  if (unitId) remove(stateKey(unitId), outboxKey(unitId));
  remove(BINDING_KEY, ...UNKEYED);
}
