// A section of the dispatcher's page that folds to its heading: the heading is a button
// (aria-expanded, aria-controls naming the body) that hides or shows the body, and the choice
// is kept in localStorage (storedOpen/storeOpen, which the map legend uses too), so the page
// opens as the dispatcher left it. Where storage is refused, the choice lasts until reload.

/** Whether the part remembered under ``key`` is open: yes, unless it was folded. */
export function storedOpen(key) {
  try {
    return localStorage.getItem(key) !== "closed";
  } catch {
    return true;
  }
}

/**
 * Fold ``section`` behind ``toggle`` (a button in its heading whose aria-controls names the
 * part that folds away); the section has the class "folded" while folded. The map beside it
 * follows its own box (mapview.js watches it), so nothing else needs telling.
 */
export function foldable(section, toggle, { key }) {
  const body = document.getElementById(toggle.getAttribute("aria-controls"));
  const show = (open) => {
    toggle.setAttribute("aria-expanded", String(open));
    body.hidden = !open;
    section.classList.toggle("folded", !open);
  };
  show(storedOpen(key));
  // A button: a click, a tap, Enter and Space all come here (and Enter on a button does not
  // assign the selected callout: keys.js).
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    show(open);
    storeOpen(key, open);
  });
}

/** Remember under ``key`` whether the part is open (where storage is refused, not at all). */
export function storeOpen(key, open) {
  try {
    localStorage.setItem(key, open ? "open" : "closed");
  } catch {
    /* storage refused: the choice lasts until the page is reloaded */
  }
}
