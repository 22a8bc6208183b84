// Keyboard and screen-reader helpers every page loads (components/layout.py).
//
// 1. Polite announcements of live figures, never one per tick. A page renders a hidden source
//    (data-announce-to="<region id>") whose text follows the live figures, and an empty
//    aria-live="polite" region; its text is copied into the region when it changes, at most once
//    every 10 seconds (the newest text after a burst of changes). The figures the page opened
//    with are not announced.
// 2. Focus back to the opener: a dialog opened by a handler (not by a Radix trigger) gives the
//    focus back, when it closes, to the control that had it before it opened.
(function () {
  if (window.__sneakersA11y) return;
  window.__sneakersA11y = true;
  const GAP_MS = 10000;
  const DIALOG = "[role=dialog], [role=alertdialog]";

  function follow(source) {
    if (source.dataset.announcing) return;
    source.dataset.announcing = "1";
    let last = Date.now();
    let timer = null;
    let said = source.textContent;
    const say = () => {
      timer = null;
      const region = document.getElementById(source.dataset.announceTo);
      const text = source.textContent;
      if (!region || !source.isConnected || text === said) return;
      last = Date.now();
      said = text;
      region.textContent = text;
    };
    new MutationObserver(() => {
      if (timer === null) timer = setTimeout(say, Math.max(0, last + GAP_MS - Date.now()));
    }).observe(source, { subtree: true, childList: true, characterData: true });
  }

  let lastOutside = null;
  let dialogOpen = false;
  document.addEventListener("focusin", (event) => {
    const target = event.target;
    if (target instanceof Element && !target.closest(DIALOG)) lastOutside = target;
  });

  function scan() {
    document.querySelectorAll("[data-announce-to]").forEach(follow);
    const open = document.querySelector(DIALOG) !== null;
    if (dialogOpen && !open) {
      setTimeout(() => {
        const lost = !document.activeElement || document.activeElement === document.body;
        if (lost && lastOutside && lastOutside.isConnected) lastOutside.focus();
      }, 0);
    }
    dialogOpen = open;
  }

  new MutationObserver(scan).observe(document.documentElement, { subtree: true, childList: true });
  scan();
})();
