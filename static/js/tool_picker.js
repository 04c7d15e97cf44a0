// The tool picker (new conversation, settings for the next run): a ticked search result joins the chosen tools (which
// survive the next search) and becomes a named tool_choice option; unticking undoes both. A catalog's box picks the
// whole catalog (posted as `catalogs`, all of its tools, also those not shown) and offers each of its tools by name;
// unticking it drops the catalog and any of its tools picked one by one.
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
  function pickedCatalog(id) {
    const list = chosen();
    return list ? list.querySelector('input[name=catalogs][value="' + CSS.escape(id) + '"]') : null;
  }
  function namesOf(input) {
    return (input.getAttribute("data-tool-names") || "").split(" ").filter(Boolean);
  }
  function stillPicked(name) {
    if (chosen().querySelector('input[name=tools][data-tool-name="' + CSS.escape(name) + '"]')) return true;
    return Array.from(chosen().querySelectorAll("input[name=catalogs]")).some(function (input) {
      return namesOf(input).indexOf(name) !== -1;
    });
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
    if (!select || stillPicked(name)) return;
    const option = select.querySelector('option[value="' + CSS.escape("function:" + name) + '"]');
    if (!option) return;
    if (option.selected) select.value = "auto";
    option.remove();
  }

  function chosenRow(name, value, id, label, attributes) {
    const row = document.createElement("div");
    row.className = name === "catalogs" ? "check whole-catalog" : "check";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = name;
    input.value = value;
    input.id = id;
    input.checked = true;
    Object.keys(attributes).forEach(function (key) { input.setAttribute(key, attributes[key]); });
    const text = document.createElement("label");
    text.htmlFor = input.id;
    text.textContent = label;
    row.append(input, " ", text);
    return row;
  }

  function pick(box) {
    const id = box.getAttribute("data-pick");
    if (pickedInput(id)) return;
    chosen().appendChild(chosenRow("tools", id, "pick-" + id, box.getAttribute("data-tool-label"), {
      "data-tool-name": box.getAttribute("data-tool-name"),
      "data-catalog": box.getAttribute("data-catalog"),
    }));
    addOption(box.getAttribute("data-tool-name"));
  }

  function unpick(id) {
    const input = pickedInput(id);
    if (input) {
      input.closest(".check").remove();
      removeOption(input.getAttribute("data-tool-name"));
    }
    syncResults();
  }

  function pickCatalog(box) {
    const id = box.getAttribute("data-pick-catalog");
    if (!pickedCatalog(id)) {
      const row = chosenRow("catalogs", id, "pick-catalog-" + id, box.getAttribute("data-catalog-label"), {
        "data-catalog": id,
        "data-tool-names": box.getAttribute("data-tool-names") || "",
      });
      chosen().insertBefore(row, chosen().firstChild);
      namesOf(box).forEach(addOption);
    }
    syncResults();
  }

  function unpickCatalog(id) {
    const input = pickedCatalog(id);
    const names = input ? namesOf(input) : [];
    if (input) input.closest(".check").remove();
    chosen().querySelectorAll('input[name=tools][data-catalog="' + CSS.escape(id) + '"]').forEach(function (tool) {
      tool.closest(".check").remove();
      names.push(tool.getAttribute("data-tool-name"));
    });
    names.forEach(removeOption);
    syncResults();
  }

  // A result is ticked exactly when its tool is among the chosen ones, or its catalog is (then it cannot be unticked
  // alone); only the chosen list posts it, so a result's own box never sends it a second time.
  function syncResults() {
    document.querySelectorAll("[data-pick-catalog]").forEach(function (box) {
      box.checked = Boolean(pickedCatalog(box.getAttribute("data-pick-catalog")));
    });
    document.querySelectorAll("[data-pick]").forEach(function (box) {
      const whole = Boolean(pickedCatalog(box.getAttribute("data-catalog")));
      box.removeAttribute("name");
      box.disabled = whole;
      box.checked = whole || Boolean(pickedInput(box.getAttribute("data-pick")));
    });
  }

  document.addEventListener("change", function (event) {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !chosen()) return;
    if (input.hasAttribute("data-pick-catalog")) {
      if (input.checked) pickCatalog(input); else unpickCatalog(input.getAttribute("data-pick-catalog"));
    } else if (input.hasAttribute("data-pick")) {
      if (input.checked) pick(input); else unpick(input.getAttribute("data-pick"));
    } else if (input.name === "catalogs" && !input.checked && chosen().contains(input)) {
      unpickCatalog(input.value);
    } else if (input.name === "tools" && !input.checked && chosen().contains(input)) {
      unpick(input.value);
    }
  });
  document.addEventListener("htmx:afterSwap", syncResults);
  document.addEventListener("DOMContentLoaded", syncResults);
})();
