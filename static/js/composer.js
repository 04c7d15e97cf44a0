// The conversation page's composer: Enter sends the next user turn, Shift+Enter starts a new
// line, as in every chat playground. An IME composing a character keeps its Enter.
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLTextAreaElement) || !box.closest("#composer")) return;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    const send = box.form.querySelector("button[type=submit]");
    if (box.value.trim() && !(send && send.disabled)) box.form.requestSubmit();
  });

  // While a run is going on (the status line says so, redrawn live) the next turn can be typed
  // but not sent: the server would refuse it. Send comes back when the run ends.
  function followTheRun() {
    const composer = document.getElementById("composer");
    if (!composer) return;
    const live = document.querySelector("#conv-status[data-live]") !== null;
    const send = composer.querySelector("button[type=submit]");
    const note = document.getElementById("composer-wait");
    if (send) send.disabled = live;
    if (note) note.hidden = !live;
  }
  document.addEventListener("DOMContentLoaded", followTheRun);
  document.addEventListener("htmx:oobAfterSwap", followTheRun);
  document.addEventListener("htmx:afterSwap", followTheRun);
})();
