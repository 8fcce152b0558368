// The service's clock as a page knows it. Phones drift and the demo runs its clock faster than
// the wall clock, so times shown ("arrives in 12 min") and times sent (when a status was pressed)
// come from the service's time, learnt from a ping's reply: {at, speed}. Between pings the page
// runs it on from the local clock at the service's pace (speed). The anchor is kept in
// localStorage, so a page reloaded offline still knows the service's time.

const KEY = "mae.clock";

export class ServiceClock {
  constructor(key = KEY) {
    this.key = key;
    this.anchor = null; // {server: ms, local: ms, speed}
    try {
      const a = JSON.parse(localStorage.getItem(key) || "null");
      if (a && Number.isFinite(a.server) && Number.isFinite(a.local) && a.speed > 0) this.anchor = a;
    } catch {
      this.anchor = null;
    }
  }

  /** Whether the service's time was ever learnt (else now() is the local clock). */
  get known() {
    return this.anchor !== null;
  }

  /** The service's time now, as a Date. */
  now() {
    const local = Date.now();
    if (!this.anchor) return new Date(local);
    return new Date(this.anchor.server + (local - this.anchor.local) * this.anchor.speed);
  }

  /** Learn the service's time from a reply stamped ``at`` (ISO) that took ``rttMs`` to come. */
  learn(at, speed = 1, rttMs = 0) {
    const server = Date.parse(at);
    if (Number.isNaN(server)) return;
    const pace = Number(speed) > 0 ? Number(speed) : 1;
    // The reply was stamped about halfway through the round trip.
    this.anchor = { server, local: Date.now() - rttMs / 2, speed: pace };
    try {
      localStorage.setItem(this.key, JSON.stringify(this.anchor));
    } catch {
      /* storage full: the clock still works for this visit */
    }
  }

  /** Ask the service its time through ``send`` (a LiveSocket's send); quiet when offline. */
  async sync(send) {
    const started = Date.now();
    try {
      const reply = await send({ type: "ping" });
      if (reply && reply.type === "pong" && reply.at) this.learn(reply.at, reply.speed, Date.now() - started);
    } catch {
      /* not connected: keep what we knew */
    }
  }
}
