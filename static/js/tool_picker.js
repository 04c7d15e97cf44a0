// The tool picker (new conversation, settings for the next run): a ticked search result joins the chosen tools (which
// survive the next search) and becomes a named tool_choice option; unticking undoes both.
(function () {
  "use strict";

  function chosen() { return document.getElementById("picked-tools"); }
  function choiceSelect() {
    const form = chosen() && chosen().closest("form");
    return form ? form.querySelector("select[name=tool_choice]") : null;
  }
  function pickedInput(id) {
    const list = chosen();
    return list ? list.querySelector('input[name=tools][value="' + CSS.escape(id) + '"]') : null;
  }

  function addOption(name) {
    const select = choiceSelect();
    const value = "function:" + name;
    if (!select || select.querySelector('option[value="' + CSS.escape(value) + '"]')) return;
    const option = document.createElement("option");
    option.value = value;
    option.textContent = "only " + name;
    select.appendChild(option);
  }

  function removeOption(name) {
    const select = choiceSelect();
    if (!select || chosen().querySelector('input[data-tool-name="' + CSS.escape(name) + '"]')) return;
    const option = select.querySelector('option[value="' + CSS.escape("function:" + name) + '"]');
    if (!option) return;
    if (option.selected) select.value = "auto";
    option.remove();
  }

  function pick(box) {
    const id = box.getAttribute("data-pick");
    if (pickedInput(id)) return;
    const row = document.createElement("div");
    row.className = "check";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = "tools";
    input.value = id;
    input.id = "pick-" + id;
    input.checked = true;
    input.setAttribute("data-tool-name", box.getAttribute("data-tool-name"));
    const label = document.createElement("label");
    label.htmlFor = input.id;
    label.textContent = box.getAttribute("data-tool-label");
    row.append(input, " ", label);
    chosen().appendChild(row);
    addOption(box.getAttribute("data-tool-name"));
  }

  function unpick(id) {
    const input = pickedInput(id);
    if (input) {
      input.closest(".check").remove();
      removeOption(input.getAttribute("data-tool-name"));
    }
    const box = document.querySelector('[data-pick="' + CSS.escape(id) + '"]');
    if (box) box.checked = false;
  }

  // A result is ticked exactly when its tool is among the chosen ones; only the chosen list
  // posts it, so a result's own box never sends it a second time.
  function syncResults() {
    document.querySelectorAll("[data-pick]").forEach(function (box) {
      box.removeAttribute("name");
      box.checked = Boolean(pickedInput(box.getAttribute("data-pick")));
    });
  }

  document.addEventListener("change", function (event) {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !chosen()) return;
    if (input.hasAttribute("data-pick")) {
      if (input.checked) pick(input); else unpick(input.getAttribute("data-pick"));
    } else if (input.name === "tools" && !input.checked && chosen().contains(input)) {
      unpick(input.value);
    }
  });
  document.addEventListener("htmx:afterSwap", syncResults);
  document.addEventListener("DOMContentLoaded", syncResults);
})();
