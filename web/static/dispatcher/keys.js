// Keyboard shortcuts of the dispatcher page (documented in the help dialog, "?" opens it).
// Keys typed into a form field stay there; Escape always works.

function typing(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

/** Where Enter means "assign" rather than pressing the focused control: anywhere but on
 * another button, link or form (a queue item counts as the selection, not as a button), or
 * on the map's own controls (zoom, the legend and its toggle). */
function enterAssigns(target) {
  if (!(target instanceof HTMLElement) || target === document.body) return true;
  if (target.closest("#recs button, #alerts button, .leaflet-control")) return false;
  return Boolean(target.closest("#queue, #active, #map")) || !target.closest("button, a, summary, dialog, form");
}

/**
 * Wire the shortcuts. actions: {move(delta), pick(index), assign(target), coverage(), note(),
 * escape(), help(), commandsAllowed()}.
 */
export function bindKeys(actions) {
  document.addEventListener("keydown", (ev) => {
    if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (document.querySelector("dialog[open]")) return; // the dialog handles its own keys
    if (ev.key === "Escape") {
      if (typing(ev.target)) ev.target.blur();
      else actions.escape();
      return;
    }
    if (typing(ev.target)) return;
    const cmd = actions.commandsAllowed();
    if (ev.key === "?") {
      actions.help();
    } else if (ev.key === "ArrowDown" || ev.key === "j") {
      actions.move(1);
    } else if (ev.key === "ArrowUp" || ev.key === "k") {
      actions.move(-1);
    } else if (cmd && /^[1-9]$/.test(ev.key)) {
      if (!actions.pick(Number(ev.key) - 1)) return;
    } else if (cmd && ev.key === "Enter" && enterAssigns(ev.target)) {
      if (!actions.assign(ev.target)) return;
    } else if (ev.key === "c") {
      actions.coverage();
    } else if (cmd && ev.key === "n") {
      if (!actions.note()) return;
    } else {
      return;
    }
    ev.preventDefault();
  });
}
