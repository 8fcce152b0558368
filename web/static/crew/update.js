// Keeping the crew page's app current: the service worker is registered here; when the socket
// comes back the worker is asked whether the app (or the workflow) changed while the phone was
// away; and when a new version takes the page over, the page reloads into it, but only once the
// outbox is empty, so nothing waiting to be sent is in the middle of a reload.

export class AppUpdates {
  /** ``pending()``: how many items still wait to be sent. */
  constructor({ pending }) {
    this.pending = pending;
    this.registration = null;
    this.waiting = false; // a new version is there; reload when the outbox empties
  }

  register() {
    if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
    let controlled = Boolean(navigator.serviceWorker.controller);
    navigator.serviceWorker.addEventListener("controllerchange", () => {
      if (!controlled) { // the first worker took the page over: nothing changed
        controlled = true;
        return;
      }
      this.waiting = true;
      this.idle();
    });
    navigator.serviceWorker.register("/crew/sw.js", { scope: "/crew" })
      .then((reg) => { this.registration = reg; })
      .catch((exc) => console.warn("no offline cache", exc));
  }

  /** Back online: look for a new worker now rather than at the next visit. */
  check() {
    if (this.registration) this.registration.update().catch(() => {});
  }

  /** Call when the outbox changed: reloads into a waiting new version once it is empty. */
  idle() {
    if (this.waiting && this.pending() === 0) {
      this.waiting = false;
      location.reload();
    }
  }
}
