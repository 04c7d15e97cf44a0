// Copy buttons: `data-copy="#id"` copies that element's text. The Clipboard API needs a secure
// context (https or localhost); elsewhere a hidden textarea and execCommand still work.
(function () {
  "use strict";

  function fallback(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const copied = document.execCommand("copy");
    area.remove();
    return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallback(text); });
    }
    return fallback(text);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    const status = button.parentElement.querySelector(".copy-status");
    copy(source.textContent).then(
      function () { if (status) status.textContent = button.textContent.replace(/^Copy /, "Copied ") + "."; },
      function () { if (status) status.textContent = "Could not copy: select the text and copy it by hand."; }
    );
  });
})();
