// The crew outbox. Every ack, status, position, outcome and sign-on is queued here first, in
// localStorage (so it survives a reload, a dead tunnel or a flat battery), with an op id made on
// the phone. Items are sent one at a time, in order; an item leaves the queue only when the
// server's reply for it arrives: "ok" (also "duplicate": the server had it already), or a
// refusal (4xx: the world moved on, e.g. the job was cancelled), which is reported through
// onRefused. A lost connection or a server fault (5xx) keeps the item for the next flush.
// Positions do not pile up: a new one replaces a waiting position at the end of the queue
// (only the latest place matters), so hours without a connection stay a short queue.
// The queue belongs to one unit: bind(key) switches to that unit's stored queue (null: none).

/** A random RFC 4122 version 4 UUID (crypto.randomUUID needs a secure context). */
export function uuid() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function valid(item) {
  return item && typeof item.op === "string" && item.msg && typeof item.msg.type === "string";
}

export class Outbox {
  constructor({ key = null, now = () => new Date(), onChange = () => {}, onSent = () => {}, onRefused = () => {} } = {}) {
    this.key = key;
    this.now = now; // the time an item is stamped with (the page passes the service's clock)
    this.onChange = onChange;
    this.onSent = onSent;
    this.onRefused = onRefused;
    this.items = this._load();
    this._flushing = null;
    this._inFlight = null; // the op sent and not yet answered
  }

  /** Use the queue stored under ``key`` (a unit's), or an empty one kept nowhere for null. */
  bind(key) {
    if (key === this.key) return;
    this.key = key;
    this.items = this._load();
    this._notify();
  }

  _load() {
    if (!this.key) return [];
    try {
      const items = JSON.parse(localStorage.getItem(this.key) || "[]");
      return Array.isArray(items) ? items.filter(valid) : [];
    } catch {
      return [];
    }
  }

  _save() {
    try {
      if (this.key) localStorage.setItem(this.key, JSON.stringify(this.items));
    } catch (exc) {
      console.error("outbox not saved", exc); // storage full: the item still waits in memory
    }
    this._notify();
  }

  _notify() {
    try {
      this.onChange(this.items);
    } catch (exc) {
      console.error(exc);
    }
  }

  get size() {
    return this.items.length;
  }

  /** Queue a message (without op: the outbox adds it); returns the item. A position replaces
   * a position waiting last in the queue (not one on its way: that one may have arrived). */
  add(msg) {
    const item = { op: uuid(), msg, at: this.now().toISOString() };
    const last = this.items[this.items.length - 1];
    if (msg.type === "position" && last && last.msg.type === "position" && last.op !== this._inFlight) {
      this.items.pop(); // a fresh op: the old one may have reached the server with a lost reply
    }
    this.items.push(item);
    this._save();
    return item;
  }

  clear() {
    this.items = [];
    this._save();
  }

  _remove(op) {
    this.items = this.items.filter((i) => i.op !== op);
    this._save();
  }

  /**
   * Send the queue in order through send(obj) -> Promise(reply). Resolves "empty" when
   * everything is through, "waiting" when send failed (not connected, no reply in time) and
   * "retry" after a server fault; a second call while flushing returns the same promise.
   */
  flush(send) {
    if (this._flushing) return this._flushing;
    this._flushing = (async () => {
      while (this.items.length) {
        const item = this.items[0];
        let reply;
        this._inFlight = item.op;
        try {
          reply = await send({ ...item.msg, op: item.op });
        } catch {
          return "waiting";
        } finally {
          this._inFlight = null;
        }
        const refused = reply && reply.type === "error";
        if (refused && !(reply.status >= 400 && reply.status < 500)) return "retry";
        this._remove(item.op);
        try {
          if (refused) this.onRefused(item, reply);
          else this.onSent(item, reply);
        } catch (exc) {
          console.error(exc);
        }
      }
      return "empty";
    })().finally(() => {
      this._flushing = null;
    });
    return this._flushing;
  }
}
