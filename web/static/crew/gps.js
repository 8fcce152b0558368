// GPS for the crew page: navigator.geolocation.watchPosition while the unit is on duty, thinned
// out so a car reports when it has moved 100 m, or after 10 s when it has moved past GPS jitter.

export const MIN_INTERVAL_S = 10;
export const MIN_MOVE_M = 100;
const JITTER_M = 20;

/** Great-circle distance in metres between {lat, lon} points. */
export function distanceM(a, b) {
  const r = 6371000;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2
    + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * r * Math.asin(Math.sqrt(h));
}

/** Whether ``fix`` ({lat, lon, t} with t in ms) is worth reporting after ``last`` (or null). */
export function shouldReport(last, fix) {
  if (!last) return true;
  const moved = distanceM(last, fix);
  const elapsed = (fix.t - last.t) / 1000;
  return moved >= MIN_MOVE_M || (elapsed >= MIN_INTERVAL_S && moved >= JITTER_M);
}

/**
 * Watches the position while started; calls onReport({lat, lon}) for fixes worth reporting and
 * onState("on" | "off" | "waiting") when GPS becomes usable or not.
 */
export class PositionWatch {
  constructor({ onReport, onState = () => {} }) {
    this.onReport = onReport;
    this.onState = onState;
    this.watchId = null;
    this.last = null;
  }

  get running() {
    return this.watchId !== null;
  }

  start() {
    if (this.running) return;
    if (!("geolocation" in navigator)) {
      this.onState("off");
      return;
    }
    this.onState("waiting");
    this.watchId = navigator.geolocation.watchPosition(
      (pos) => {
        this.onState("on");
        const fix = { lat: pos.coords.latitude, lon: pos.coords.longitude, t: pos.timestamp || Date.now() };
        if (shouldReport(this.last, fix)) {
          this.last = fix;
          this.onReport({ lat: fix.lat, lon: fix.lon });
        }
      },
      () => this.onState("off"),
      { enableHighAccuracy: true, maximumAge: 5000, timeout: 60000 },
    );
  }

  stop() {
    if (this.watchId !== null) navigator.geolocation.clearWatch(this.watchId);
    this.watchId = null;
    this.onState("off");
  }
}
