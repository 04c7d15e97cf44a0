// The conversation page's composer: Enter sends the next user turn, Shift+Enter starts a new
// line, as in every chat playground. An IME composing a character keeps its Enter.
(function () {
  "use strict";

  document.addEventListener("keydown", function (event) {
    const box = event.target;
    if (!(box instanceof HTMLTextAreaElement) || !box.closest("#composer")) return;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    if (box.value.trim()) box.form.requestSubmit();
  });
})();
