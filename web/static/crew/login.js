// Logging a unit in and out of the phone: the login form, a #token= link (opened in the running
// page it switches units, after asking), the logout button (always asks) and the server's
// refusal of a token. Logging out forgets the unit's unsent items and stored state, so nothing
// of it is shown to, or sent by, whoever logs in next.
import { t } from "/static/lib/i18n.js";
import { setToken, clearToken } from "/static/lib/session.js";
import { unlock } from "/static/crew/alert.js";
import { boundUnit, forget } from "/static/crew/storage.js";

const $ = (id) => document.getElementById(id);

/** The token of a #token= link, taken out of the address bar (null: none). */
function takeHashToken() {
  const hash = new URLSearchParams(location.hash.replace(/^#/, ""));
  const value = (hash.get("token") || "").trim();
  if (!hash.has("token")) return null;
  hash.delete("token");
  const rest = hash.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  return value || null;
}

export class CrewLogin {
  /** ``crew`` is the page's state (its token and unit), ``outbox`` its unsent items,
   * ``routeView`` the route map (it fetches with the token); ``bindUnit(id)`` shows a unit's
   * stored state, ``render()`` draws the page, ``connect()`` opens the socket and
   * ``disconnect()`` closes it and stops the GPS. */
  constructor({ crew, outbox, routeView, bindUnit, render, connect, disconnect }) {
    Object.assign(this, { crew, outbox, routeView, bindUnit, render, connect, disconnect });
  }

  /** Listen to the login form, the logout button and #token= links. */
  wire() {
    $("login-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      unlock();
      const value = $("token-input").value.trim();
      if (!value) return;
      setToken("crew", value);
      $("token-input").value = "";
      this.start(value);
    });
    $("logout").addEventListener("click", () => {
      // Always ask: a mis-tap on a moving car's phone must not log the unit out.
      const n = this.outbox.size;
      const question = n ? t("crew.logout.confirm", { n }) : t("crew.logout.ask");
      if (!window.confirm(question)) return;
      this.logOut();
      this.show();
    });
    window.addEventListener("hashchange", () => this.onHashToken());
  }

  /** Show the login form (with ``error``, if any), the socket closed and the token forgotten. */
  show(error = "") {
    this.disconnect();
    clearToken("crew");
    $("login").hidden = false;
    $("app").hidden = true;
    $("logout").hidden = true;
    $("login-error").textContent = error;
    $("token-input").setAttribute("aria-invalid", String(Boolean(error)));
    $("token-input").focus();
  }

  /** Open the page for ``token``: its unit as last seen on this phone (or nothing until the
   * snapshot), drawn, then connected. */
  start(token) {
    this.crew.token = token;
    this.routeView.token = token;
    this.bindUnit(boundUnit(token)); // this token's unit as last seen, or nothing until the snapshot
    $("login-notice").hidden = true;
    $("login").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    try {
      this.render();
    } finally {
      this.connect(); // a page that fails to draw must still connect and take its jobs
    }
  }

  /** Log the unit out of the phone: its unsent items and stored state go (the caller shows the
   * login form or logs in with another token). */
  logOut() {
    this.outbox.clear();
    forget(this.crew.unitId);
    this.bindUnit(null);
  }

  /** The server refused the token: forget it and everything stored for the unit, so nothing of
   * it is shown to, or sent by, whoever logs in next; say so when unsent items went with it. */
  refused(message) {
    const lost = this.outbox.size;
    this.logOut();
    this.show(t("crew.login.bad", { message }));
    const note = $("login-notice");
    note.textContent = lost ? t("crew.login.discarded", { n: lost }) : "";
    note.hidden = !lost;
  }

  /** A #token= link opened in the running page (another unit's, say): log in with it, asking
   * first, as logging out does, when a unit is logged in (its unsent items are lost). */
  onHashToken() {
    const value = takeHashToken();
    if (!value || value === this.crew.token) return;
    if (this.crew.token) {
      const n = this.outbox.size;
      const question = n ? t("crew.switch.confirm", { n }) : t("crew.switch.ask");
      if (!window.confirm(question)) return;
      this.logOut();
    }
    setToken("crew", value);
    this.start(value);
  }
}
