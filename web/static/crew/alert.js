// The new-job alert: a beep made with WebAudio (no sound files) and a vibration where the phone
// has one. Browsers keep audio blocked until the first tap, so unlock() is called on every tap
// and onBlocked(blocked) lets the page offer a "sound on" button meanwhile.

let audio = null;
let onBlocked = () => {};

function report() {
  onBlocked(!(audio && audio.state === "running"));
}

/** Create or resume the audio context (call from a tap or key press). */
export function unlock() {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) {
      audio = new Ctx();
      audio.addEventListener("statechange", report);
    }
    if (audio && audio.state === "suspended") audio.resume().catch(() => {});
  } catch {
    audio = null;
  }
  report();
}

/** Tell ``fn(blocked)`` whenever audio becomes blocked or usable (and now). */
export function watchAudio(fn) {
  onBlocked = fn;
  report();
}

/** Three short square-wave beeps, loud enough for a car. */
export function beep() {
  unlock();
  if (!audio) return;
  const start = audio.currentTime + 0.05;
  for (let i = 0; i < 3; i += 1) {
    const at = start + i * 0.35;
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "square";
    osc.frequency.value = i === 1 ? 1175 : 880;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.25);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.3);
  }
}

/** Whether the page has had a tap or key press: browsers refuse (and log an error for)
 * navigator.vibrate before one. */
let tapped = false; // (the page's own events: navigator.userActivation may count a navigation)
for (const type of ["pointerdown", "keydown", "touchend"]) {
  window.addEventListener(type, () => { tapped = true; }, { capture: true, once: true });
}
/** Beep and vibrate (vibrate only once the crew has tapped the page). */
export function alarm() {
  beep();
  if (typeof navigator.vibrate === "function" && tapped) navigator.vibrate([400, 150, 400, 150, 400]);
}
