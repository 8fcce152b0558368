// The shift panel's traffic with the server: the unit's rota shift is asked for (the sign-on
// form's end is prefilled from it), the sign-on is queued through the outbox like a status,
// and the sign-off (which needs the server's answer) is sent live, after asking.
import { t } from "/static/lib/i18n.js";
import { errorText } from "/static/lib/errors.js";
import { SignOn } from "/static/crew/signon.js";

const $ = (id) => document.getElementById(id);

export class CrewShift {
  /** ``ready()`` says whether the socket is open and synced, ``socket()`` is it, and
   * ``enqueue(msg)`` queues in the outbox. */
  constructor({ ready, socket, enqueue }) {
    Object.assign(this, { ready, socket, enqueue });
    this.signOn = new SignOn();
  }

  /** Listen to the sign-on form and the end-of-shift button. */
  wire() {
    $("shift-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const msg = this.signOn.message();
      if (!msg) return;
      $("shift-error").textContent = "";
      this.enqueue(msg); // like a status: queued, sent (exactly once) when there is a connection
      this.signOn.reset();
    });
    $("shift-end").addEventListener("click", () => {
      // Asked first, like logging out: a mis-tap must not take the unit out of service.
      if (!window.confirm(t("shift.end.ask"))) return;
      this.sendNow({ type: "shift_end" });
    });
  }

  /** Draw the panel: the sign-on form off duty, the crew and the shift's end on duty. */
  render(unit, job) {
    this.signOn.render(unit, job);
  }

  /** Ask the server for this unit's rota shift (the sign-on form's end is prefilled from it). */
  async loadRota() {
    if (!this.ready()) return;
    try {
      const reply = await this.socket().send({ type: "rota" });
      this.signOn.setRota(reply.type === "rota" ? reply.units[0] : null);
    } catch {
      /* offline again: the next connection asks anew */
    }
  }

  /** Send ``msg`` now (signing off needs the server's answer); true when it went through. */
  async sendNow(msg) {
    $("shift-error").textContent = "";
    if (!this.ready()) {
      $("shift-error").textContent = t("shift.online");
      return false;
    }
    try {
      const reply = await this.socket().send(msg);
      if (reply.type !== "error") return true;
      $("shift-error").textContent = t("notice.error", { message: errorText(reply) });
    } catch (exc) {
      $("shift-error").textContent = t("notice.error", { message: errorText(exc) });
    }
    return false;
  }
}
