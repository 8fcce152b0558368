// Messages between the crew and dispatch (kept with the unit's stored state, the last 30; never
// in any log), and the assist (panic) button, whose press goes through the outbox like a status
// with the latest GPS fix.
import { t } from "/static/lib/i18n.js";
import { alarm } from "/static/crew/alert.js";
import { fmtTime } from "/static/crew/jobview.js";

const $ = (id) => document.getElementById(id);
const KEPT = 30; // the newest messages kept with the unit's state

export class CrewMessages {
  /** ``store()`` is the unit's stored state, ``notices`` the page's notice area, ``enqueue(msg)``
   * queues a message in the outbox, ``lastFix()`` the latest GPS fix (or null), ``ready()``
   * whether the socket is open and synced. */
  constructor({ store, notices, enqueue, lastFix, ready }) {
    this.store = store;
    this.notices = notices;
    this.enqueue = enqueue;
    this.lastFix = lastFix;
    this.ready = ready;
  }

  /** A message to or from dispatch (``ev``: MessageSent), or the service's word that the
   * panic alarm arrived (AssistRequested); one from dispatch beeps and shows a notice. */
  onEvent(ev) {
    if (ev.type === "AssistRequested") {
      this.notices.add(t("assist.sent"), "error");
      return;
    }
    const server = this.store();
    const list = server.messages || [];
    server.messages = [...list, { at: ev.at, text: ev.text, mine: ev.from_crew }].slice(-KEPT);
    if (!ev.from_crew) {
      this.notices.add(t("messages.from", { text: ev.text }), "warn");
      alarm();
    }
    this.render();
  }

  /** Draw the kept messages, the crew's own and dispatch's told apart. */
  render() {
    $("message-list").replaceChildren(...(this.store().messages || []).map((m) => {
      const li = document.createElement("li");
      li.className = m.mine ? "mine" : "theirs";
      const time = document.createElement("time");
      time.textContent = fmtTime(m.at);
      li.append(time, m.text);
      return li;
    }));
  }

  /** Queue the text typed in the message form (nothing when it is blank) and clear the field. */
  send() {
    const text = $("message-text").value.trim();
    if (!text) return;
    this.enqueue({ type: "message", text });
    $("message-text").value = "";
  }

  /** The panic button: asks once (a pocket press must not raise it), then goes through the
   * outbox like a status, with the latest GPS fix (or the unit's last known position). */
  requestAssist() {
    if (!window.confirm(t("assist.confirm"))) return;
    const unit = this.store().unit;
    const fix = this.lastFix() || (unit && unit.position);
    const msg = { type: "assist" };
    if (fix && Number.isFinite(fix.lat) && Number.isFinite(fix.lon)) {
      msg.lat = Math.round(fix.lat * 1e6) / 1e6;
      msg.lon = Math.round(fix.lon * 1e6) / 1e6;
    }
    this.enqueue(msg);
    if (!this.ready()) this.notices.add(t("assist.queued"), "error");
  }
}
