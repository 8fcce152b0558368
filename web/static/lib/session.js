// Login tokens, REST calls and a self-reconnecting WebSocket for the MAE pages.
// A token may arrive in the URL fragment (#token=...): token(kind) stores it for that page kind
// and removes it from the address bar. REST sends "Authorization: Bearer"; sockets offer the
// subprotocols "mae.v1" and "mae.bearer.<token>", so the token never appears in a URL.

const PREFIX = "mae.token.";

function store() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Take #token=... from the URL (if any) for this page kind, then return the stored token. */
export function token(kind) {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  const fromUrl = hash.get("token");
  if (fromUrl) {
    setToken(kind, fromUrl.trim());
    hash.delete("token");
    const rest = hash.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  const s = store();
  return (s && s.getItem(PREFIX + kind)) || null;
}

export function setToken(kind, t) {
  const s = store();
  if (s) s.setItem(PREFIX + kind, t);
}

export function clearToken(kind) {
  const s = store();
  if (s) s.removeItem(PREFIX + kind);
}

/** The page's token form (#login-form, #token-input, #err-token): an empty token is refused
 * with ``missing()``; a pasted one is kept for ``kind`` and handed to ``onToken``. */
export function bindLoginForm(kind, onToken, missing) {
  const input = document.getElementById("token-input");
  document.getElementById("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const tok = input.value.trim();
    if (!tok) {
      document.getElementById("err-token").textContent = missing();
      input.setAttribute("aria-invalid", "true");
      return;
    }
    setToken(kind, tok);
    input.value = "";
    onToken(tok);
  });
}

/** A refused request: HTTP status, the field at fault (or null) and the server's message. */
export class ApiError extends Error {
  constructor(status, message, { field = null, code = null, body = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.field = field;
    this.code = code;
    this.body = body;
  }
}

function fieldOf(loc) {
  // FastAPI's own validation errors: loc = ["body", "location", "lat"] or ["query", "q"].
  const parts = (loc || []).filter((p) => !["body", "query", "path", "header"].includes(p));
  return parts.length ? parts.join(".") : (loc || []).join(".") || null;
}

/** The error described by a reply body: ours ({error, field, message}) or FastAPI's
 * ({detail: [{loc, msg}]}) or a plain string. */
export function errorFrom(status, body) {
  if (body && typeof body === "object") {
    if (typeof body.message === "string") {
      return new ApiError(status, body.message, { field: body.field ?? null, code: body.error ?? null, body });
    }
    if (Array.isArray(body.detail) && body.detail.length) {
      const d = body.detail[0];
      const field = fieldOf(d.loc);
      return new ApiError(status, field ? `${field}: ${d.msg}` : d.msg, { field, code: "invalid_request", body });
    }
    if (typeof body.detail === "string") return new ApiError(status, body.detail, { body });
  }
  return new ApiError(status, typeof body === "string" && body ? body : `HTTP ${status}`, { body });
}

/** Call the REST API; returns the parsed JSON reply or throws ApiError. A network failure is
 * an ApiError with status 0. */
export async function api(path, { method = "GET", body, token: tok, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (tok) init.headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (exc) {
    throw new ApiError(0, `network error: ${exc.message || exc}`, { code: "network" });
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) throw errorFrom(res.status, data);
  return data;
}

/** An open socket pings every PING_MS; when nothing at all (a reply, an event, a pong) has come
 * for SILENT_MS after a ping it counts the connection as lost, so a dead link shows as
 * "connecting" within about half a minute, not never. SILENT_MS is as long as a request's own
 * wait (timeoutMs), so a pong queued behind a slow command does not cut a live socket; and
 * silence is only counted from a ping, so a background tab whose timers the browser slows to
 * once a minute does not take its own quiet for a dead link. */
const PING_MS = 12000;
const SILENT_MS = 20000;
const CHECK_MS = 2000;
const NO_RETRY = new Set([4401, 4403]); // bad token or role: reconnecting cannot help
/** A LiveSocket's closeReason when its token has characters no token has (never sent). */
export const NOT_A_TOKEN = "that is not a token";

/**
 * A WebSocket to the service that reconnects by itself (backoff 0.5 s .. 15 s) and resumes with
 * since=lastSeq, so no event is missed or repeated.
 *   new LiveSocket("/ws/dispatch", {token, onMessage, onState}).connect()
 * onMessage(msg) gets every message except replies to send() (a batch frame's messages one by
 * one, in order); onState(s) gets
 * "connecting" | "open" | "closed". send(obj) adds an id and resolves with the reply carrying
 * it (which may be {type: "error", field, message}); it rejects if the socket is not open or
 * closes first. After a close, closeCode and closeReason say why (4401/4403: refused, for good).
 */
export class LiveSocket {
  constructor(path, { token: tok, onMessage = () => {}, onState = () => {}, since = null, timeoutMs = 20000,
    pingMs = PING_MS, silentMs = SILENT_MS } = {}) {
    this.path = path;
    this.token = tok;
    this.onMessage = onMessage;
    this.onState = onState;
    this.lastSeq = since;
    this.timeoutMs = timeoutMs;
    this.pingMs = pingMs;
    this.silentMs = silentMs;
    this._heard = 0; // when the socket last received anything
    this._pinged = 0; // when it last sent a ping
    this.state = "closed";
    this.ws = null;
    this._pending = new Map();
    this._nextId = 0;
    this._stopped = true;
    this._delay = 500;
    this._timer = null;
    this._ping = null;
    this.closeCode = null; // of the last close
    this.closeReason = "";
    this._refusedSince = false;
    // The browser knows the network went away before any ping could tell: say so at once
    // and try again the moment it is back.
    this._onOffline = () => {
      if (this.ws) this._lost(this.ws, 4000, "the network is offline");
    };
    this._onOnline = () => {
      if (this._stopped || (this.ws && this.ws.readyState === WebSocket.OPEN)) return;
      // An attempt made while offline is given up (it would fail and wait out its backoff);
      // a new one follows within a second, spread so a room of pages does not come at once.
      const old = this.ws;
      this.ws = null;
      if (old) {
        try {
          old.close();
        } catch {
          /* already closing */
        }
      }
      clearTimeout(this._timer);
      this._delay = 500;
      this._timer = setTimeout(() => {
        if (!this._stopped && !this.ws) this._open();
      }, Math.random() * 1000);
    };
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const params = new URLSearchParams();
    if (this.lastSeq !== null && this.lastSeq !== undefined) params.set("since", String(this.lastSeq));
    params.set("batch", "1"); // we unpack {"type": "batch", "messages": [...]} frames
    const query = params.toString();
    const sep = this.path.includes("?") ? "&" : "?";
    return `${scheme}//${location.host}${this.path}${query ? sep + query : ""}`;
  }

  /** The subprotocols that log the socket in (the server answers "mae.v1"). */
  protocols() {
    return this.token ? ["mae.v1", `mae.bearer.${this.token}`] : ["mae.v1"];
  }

  _setState(s) {
    if (this.state === s) return;
    this.state = s;
    try {
      this.onState(s);
    } catch (exc) {
      console.error(exc);
    }
  }

  connect() {
    this._stopped = false;
    clearTimeout(this._timer);
    window.addEventListener("offline", this._onOffline);
    window.addEventListener("online", this._onOnline);
    this._open();
    return this;
  }

  _open() {
    this._setState("connecting");
    // Offline, an attempt can only fail (and the browser logs it as an error): the "online"
    // event opens the socket the moment the network is back.
    if (navigator.onLine === false) return;
    let ws;
    try {
      ws = new WebSocket(this.url(), this.protocols());
    } catch {
      // A pasted "token" with spaces or other characters no token has: refused, for good.
      this.closeCode = 4401;
      this.closeReason = NOT_A_TOKEN;
      this._stopped = true;
      this._setState("closed");
      try {
        this.onMessage({ type: "error", status: 401, error: "unauthorized", field: null, message: this.closeReason });
      } catch (exc) {
        console.error(exc);
      }
      return;
    }
    this.ws = ws;
    this._refusedSince = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this._setState("open");
      clearInterval(this._ping);
      // A socket can stay "open" while nothing gets through (a coverage gap, a dead link, a
      // stopped server): it pings, and a silence longer than silentMs counts as a lost
      // connection, so the page stops saying it is connected and reconnects.
      this._heard = this._pinged = Date.now();
      this._ping = setInterval(() => {
        if (this.ws !== ws) return;
        const now = Date.now();
        if (this._pinged > this._heard && now - this._pinged > this.silentMs) {
          this._lost(ws, 4000, "no answer from the service");
        } else if (this._pinged <= this._heard && now - this._pinged >= this.pingMs) {
          this._pinged = now;
          this.send({ type: "ping" }).catch(() => {});
        }
      }, Math.min(CHECK_MS, this.pingMs));
    };
    const deliver = (msg) => {
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "ready") this._delay = 500;
      if (msg.type === "error" && msg.field === "since" && msg.id == null) this._refusedSince = true;
      this._track(msg);
      const waiter = msg.id != null ? this._pending.get(msg.id) : undefined;
      if (waiter) {
        this._pending.delete(msg.id);
        clearTimeout(waiter.timer);
        waiter.resolve(msg);
        return;
      }
      try {
        this.onMessage(msg);
      } catch (exc) {
        console.error(exc);
      }
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return; // a socket given up on
      this._heard = Date.now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      // ?batch=1: messages that queued up together come as one frame, in order
      if (msg && msg.type === "batch" && Array.isArray(msg.messages)) msg.messages.forEach(deliver);
      else deliver(msg);
    };
    ws.onclose = (ev) => this._lost(ws, ev.code, ev.reason);
  }

  /** ``ws`` is gone (closed, or given up on): fail what waits for a reply, then reconnect with
   * backoff unless the close was for good. A socket given up on is closed and then ignored. */
  _lost(ws, code, reason) {
    if (this.ws !== ws) return;
    clearInterval(this._ping);
    this.ws = null;
    if (ws.readyState !== WebSocket.CLOSED) {
      try {
        ws.close(4000, "given up");
      } catch {
        /* already closing */
      }
    }
    this.closeCode = code; // 4401/4403: the token or role was refused
    this.closeReason = reason;
    for (const [, w] of this._pending) {
      clearTimeout(w.timer);
      w.reject(new ApiError(0, "connection closed before the reply", { code: "closed" }));
    }
    this._pending.clear();
    if (this._refusedSince) this.lastSeq = null; // the log is not what we knew: start afresh
    if (this._stopped || NO_RETRY.has(code)) {
      this._stopped = true;
      this._setState("closed");
      return;
    }
    this._setState("connecting");
    const wait = this._delay;
    this._delay = Math.min(15000, this._delay * 2);
    this._timer = setTimeout(() => {
      if (!this._stopped) this._open();
    }, wait + Math.random() * 250);
  }

  _track(msg) {
    if (msg.type === "snapshot" && typeof msg.seq === "number") {
      this.lastSeq = msg.seq; // a snapshot replaces what we had (also after a replay seek)
    } else if ((msg.type === "event" || msg.type === "ready") && typeof msg.seq === "number") {
      if (this.lastSeq === null || msg.seq > this.lastSeq) this.lastSeq = msg.seq;
    }
  }

  /** Send a request; resolves with the reply that carries its id. */
  send(obj) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new ApiError(0, "not connected", { code: "closed" }));
    }
    this._nextId += 1;
    const id = `c${this._nextId}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new ApiError(0, "no reply in time", { code: "timeout" }));
      }, this.timeoutMs);
      this._pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...obj, id }));
    });
  }

  /** Close for good (no reconnect). */
  close() {
    this._stopped = true;
    clearTimeout(this._timer);
    window.removeEventListener("offline", this._onOffline);
    window.removeEventListener("online", this._onOnline);
    clearInterval(this._ping);
    if (this.ws) this.ws.close(1000);
    else this._setState("closed");
  }
}
