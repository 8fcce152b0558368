// The screen stays on while there is a job (Screen Wake Lock API). The browser drops the lock
// when the page is hidden, so it is asked for again when the page shows; a refusal (battery
// saver, no permission) leaves the page working without it.

let wakeLock = null;
let wantAwake = false;
let wakeAsked = 0; // when the lock was last asked for (refused: asked again on a render a second later)

/** Hold the screen on (``on``) or let it sleep; called on every render, so a refused lock is
 * asked for again at most once a second. */
export async function keepAwake(on) {
  wantAwake = on;
  if (!("wakeLock" in navigator)) return;
  try {
    if (on && !wakeLock && !document.hidden && Date.now() - wakeAsked > 1000) {
      wakeAsked = Date.now();
      wakeLock = await navigator.wakeLock.request("screen");
      document.body.dataset.wakeLock = "on";
      wakeLock.addEventListener("release", () => {
        wakeLock = null;
        document.body.dataset.wakeLock = "off";
      });
    } else if (!on && wakeLock) {
      await wakeLock.release();
    }
  } catch {
    wakeLock = null; // refused (battery saver, no permission): the page works on without it
  }
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && wantAwake) keepAwake(true);
});
