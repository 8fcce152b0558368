// The "sound on" button in the status bar: browsers keep audio blocked until the first tap, so
// every tap or key press tries to unlock it, and the button is offered while it stays blocked
// (its own tap unlocks audio and beeps, so the crew hears what an alert sounds like).
import { beep, unlock, watchAudio } from "/static/crew/alert.js";

const $ = (id) => document.getElementById(id);

let tapping = false; // a finger is on the screen
document.addEventListener("pointerdown", () => { tapping = true; }, true);
document.addEventListener("pointerup", () => { tapping = false; }, true);
document.addEventListener("pointercancel", () => { tapping = false; }, true);

/** Offer "sound on" while audio is blocked. It goes away only after the tap that unlocked audio
 * is over: removed mid-tap, the bar would shrink under the finger and the tap hit nothing. */
function showSoundButton(blocked) {
  if (blocked || !tapping) $("sound").hidden = !blocked;
  else document.addEventListener("pointerup", () => setTimeout(() => showSoundButton(false), 0), { once: true });
}

/** Unlock audio on every tap or key press and offer the "sound on" button while it is blocked. */
export function watchSound() {
  document.addEventListener("pointerdown", unlock);
  document.addEventListener("keydown", unlock);
  watchAudio(showSoundButton);
}

/** The "sound on" button's tap: unlock audio and beep once. */
export function soundOn() {
  unlock();
  beep();
}
