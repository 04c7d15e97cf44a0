// Small behaviours the browser must do itself. Loaded with `defer`; no inline scripts (CSP).
(function () {
  "use strict";
  const INDENT = "  ";
  const ANSWERING = "the model is answering (streaming)…";

  // Tab in a code textarea inserts spaces instead of leaving the field; Shift+Tab outdents.
  // Escape then Tab still moves focus, so the form stays keyboard-navigable.
  let escaped = false;
  document.addEventListener("keydown", function (event) {
    const area = event.target;
    if (!(area instanceof HTMLTextAreaElement) || !area.hasAttribute("data-code-editor")) return;
    if (event.key === "Escape") { escaped = true; return; }
    if (event.key !== "Tab" || escaped || event.ctrlKey || event.metaKey || event.altKey) {
      escaped = false;
      return;
    }
    event.preventDefault();
    const start = area.selectionStart;
    const end = area.selectionEnd;
    const value = area.value;
    if (event.shiftKey) {
      const lineStart = value.lastIndexOf("\n", start - 1) + 1;
      if (value.startsWith(INDENT, lineStart)) {
        area.setRangeText("", lineStart, lineStart + INDENT.length, "preserve");
      }
    } else {
      area.setRangeText(INDENT, start, end, "end");
    }
    area.dispatchEvent(new Event("input", { bubbles: true }));
  });

  // Show only the settings of the chosen implementation kind.
  function syncKind(select) {
    const form = select.form;
    if (!form) return;
    form.querySelectorAll("[data-kind]").forEach(function (group) {
      group.hidden = group.getAttribute("data-kind") !== select.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[name=implementation_kind]")) {
      syncKind(event.target);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[name=implementation_kind]").forEach(syncKind);
  });

  // A request the server refused as too large (413) or out of date (409: a call decided
  // already) still shows its message where the swap was going; the fragment keeps the
  // target's id so later swaps find it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    if (status === 413 || status === 409) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // A live re-check swaps the hints panel; keep the hint cards the author opened open.
  let openHints = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    if (!target || target.id !== "checks") return;
    openHints = Array.from(target.querySelectorAll(".hint-group[data-code] > details[open]"))
      .map(function (details) { return details.parentElement.getAttribute("data-code"); });
  });
  document.addEventListener("htmx:afterSwap", function () {
    openHints.forEach(function (code) {
      const details = document.querySelector('#checks .hint-group[data-code="' + code + '"] > details');
      if (details) details.open = true;
    });
    openHints = [];
  });

  // A live redraw (a reconnect's catch-up snapshot, a calls table redrawn as calls finish)
  // replaces a list the person may be working in. What they opened or typed there is carried
  // into the new markup: a message open in its edit form stays open as it is (the same node,
  // so its editor keeps its text, selection and undo; likewise one whose edit form is on its
  // way, so the form opens where it was asked for), an answer being typed keeps its text,
  // and a call's arguments opened to read stay open.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail.target;
    const fragment = event.detail.fragment;
    if (!target || !fragment || !fragment.querySelector) return;
    target.querySelectorAll("article.msg-edit[id], article.msg[id]:has(.htmx-request)").forEach(function (editing) {
      const fresh = fragment.querySelector("#" + CSS.escape(editing.id));
      if (fresh) fresh.replaceWith(editing);
    });
    target.querySelectorAll("form.answer-call textarea[id]").forEach(function (typed) {
      const fresh = fragment.querySelector("#" + CSS.escape(typed.id));
      if (fresh && typed.value && !fresh.value) {
        fresh.textContent = typed.value;
        fresh.value = typed.value;
      }
    });
    target.querySelectorAll("tr[id] details[open]").forEach(function (opened) {
      const row = opened.closest("tr[id]");
      const index = Array.from(row.querySelectorAll("details")).indexOf(opened);
      const fresh = fragment.querySelector("#" + CSS.escape(row.id));
      const same = fresh && fresh.querySelectorAll("details")[index];
      if (same) same.open = true;
    });
  });

  // The same for a swap in place (the comparison page redrawing itself while its runs go on,
  // a calls table redrawn after a decision): opened arguments are reopened in the new rows.
  let openedRows = [];
  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    openedRows = [];
    if (!target || !target.querySelectorAll) return;
    target.querySelectorAll("tr[id] details[open]").forEach(function (opened) {
      const row = opened.closest("tr[id]");
      openedRows.push([row.id, Array.from(row.querySelectorAll("details")).indexOf(opened)]);
    });
  });
  document.addEventListener("htmx:afterSwap", function () {
    openedRows.forEach(function (where) {
      const row = document.getElementById(where[0]);
      const same = row && row.querySelectorAll("details")[where[1]];
      if (same) same.open = true;
    });
    openedRows = [];
  });

  // A streamed draft names its round: that round's status says the model is answering. Its
  // snapshot says so server-side; a live draft frame only carries the stream, so the status of a
  // round that was stopped meanwhile (gone from the page) is simply not there to change.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const stream = event.detail.target;
    if (!stream || stream.id !== "stream" || !stream.hasAttribute("data-round")) return;
    const status = document.getElementById("round-" + stream.getAttribute("data-round") + "-status");
    if (status && status.textContent !== ANSWERING) status.textContent = ANSWERING;
  });

  // The call filters are redrawn live with the totals (new outcomes, a stop's cancelled calls),
  // with what the page lists chosen (its socket was opened with the page's query string); what
  // the person is choosing in the menus now, not yet applied, is carried over to the new form.
  let choosing = null;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    const target = event.detail.target;
    if (!target || target.id !== "call-filters") return;
    choosing = {};
    target.querySelectorAll("select").forEach(function (select) {
      choosing[select.name] = select.value;
    });
  });
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    const swapped = event.detail.target;
    if (!swapped || swapped.id !== "call-filters") return;
    const filters = document.getElementById("call-filters");  // the new one (the target left)
    if (!filters) return;
    const chosen = new URLSearchParams(window.location.search);
    let filtered = false;
    ["status", "tool"].forEach(function (name) {
      const select = filters.querySelector("select[name=" + name + "]");
      const value = chosen.get(name);
      if (value) filtered = true;
      const shown = choosing && name in choosing ? choosing[name] : value;
      if (select && shown && select.querySelector("option[value='" + CSS.escape(shown) + "']")) {
        select.value = shown;
      }
    });
    choosing = null;
    const clear = filters.querySelector(".filter-clear");
    if (clear) clear.hidden = !filtered;
  });

  // Ask before destructive submits marked with data-confirm.
  document.addEventListener("submit", function (event) {
    const message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // A form marked data-warn-unsaved (the tool editor) has the browser ask before the page is
  // left while it holds changes: armed by any change to one of its fields, or already by the
  // server (data-warn-unsaved="dirty": a submit it refused, shown again unsaved), and disarmed
  // when the form itself is submitted.
  let unsaved = null;
  function arm(event) {
    const field = event.target;
    const form = field && (field.form || (field.closest && field.closest("form")));
    if (form && form.hasAttribute("data-warn-unsaved")) unsaved = form;
  }
  document.addEventListener("input", arm);
  document.addEventListener("change", arm);
  document.addEventListener("submit", function (event) {
    if (event.target === unsaved && !event.defaultPrevented) unsaved = null;
  });
  document.addEventListener("DOMContentLoaded", function () {
    const dirty = document.querySelector('form[data-warn-unsaved="dirty"]');
    if (dirty) unsaved = dirty;
  });
  window.addEventListener("beforeunload", function (event) {
    if (!unsaved || !document.contains(unsaved)) return;
    event.preventDefault();
    event.returnValue = "";  // older Chromium asks only when this is set
  });
})();
