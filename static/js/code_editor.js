// A code editor (CodeMirror 6, static/vendor/codemirror) over every
// <textarea data-code-editor="json">: the textarea is hidden but stays the form's field, its value
// kept in sync on every change (with an `input` event, so htmx live checks still fire). Without
// this script, or without the bundle, the plain textarea works as before.
//
// Diagnostics: the server's findings are the reference. A list marked
// data-findings-for="<form id>" holds items with data-level, and data-field plus data-line and
// data-column (a position in that field's text) or data-path (a JSON pointer into the field named
// by the list's data-paths-in); they are marked in the editors of that form each time the list
// is (re)drawn. Between two server checks, a JSON syntax error found here with JSON.parse is
// marked too, unless the server already marks one.
(function () {
  "use strict";
  const CM = window.CM;
  if (!CM) return;
  const INDENT = "  ";
  const LINT_DELAY_MS = 250;
  const VALUE_TYPES = new Set(["Object", "Array", "String", "Number", "True", "False", "Null"]);
  const editors = new Map(); // textarea -> editor record
  // CodeMirror puts its styles in a <style> element: the page's CSP nonce lets it apply.
  const nonce = (document.currentScript && document.currentScript.nonce) || "";

  // ------------------------------------------------------------------ JSON helpers

  // A syntax error as {from, to, message}, or null when `text` parses (or is blank).
  function syntaxError(text, lines) {
    if (!text.trim()) return null;
    const whole = parseError(text, 0);
    if (!whole || !lines) return whole && located(text, whole);
    let offset = 0;
    for (const line of text.split("\n")) {
      if (line.trim()) {
        const problem = parseError(line, offset);
        if (problem) return located(text, problem);
      }
      offset += line.length + 1;
    }
    return null;
  }

  // Said as the server says it: the browser's reason, then the line and column.
  function located(text, problem) {
    const before = text.slice(0, problem.from).split("\n");
    const column = before[before.length - 1].length + 1;
    problem.message = "Not valid JSON: " + problem.reason + " at line " + before.length + ", column " + column + ".";
    return problem;
  }

  function parseError(text, offset) {
    try {
      JSON.parse(text);
      return null;
    } catch (error) {
      const message = String(error.message || error);
      let at = text.length;
      const position = /at position (\d+)/.exec(message);
      const lineColumn = /line (\d+) column (\d+)/.exec(message);
      if (position) {
        at = Number(position[1]);
      } else if (lineColumn) {
        const before = text.split("\n").slice(0, Number(lineColumn[1]) - 1);
        at = before.reduce(function (sum, line) { return sum + line.length + 1; }, 0)
          + Number(lineColumn[2]) - 1;
      }
      at = Math.min(Math.max(at, 0), text.length);
      const reason = message.replace(/^JSON\.parse: /, "")
        .replace(/ (in JSON )?at position \d+.*$/, "")
        .replace(/ at line \d+ column \d+ of the JSON data$/, "");
      return { from: offset + at, to: offset + Math.min(at + 1, text.length), reason: reason };
    }
  }

  // `text` (valid JSON) re-indented by two spaces, as Python's json.dumps(indent=2) writes it.
  // Works on the tokens, so numbers and strings keep their exact spelling (1.0, 1e400, escapes).
  function prettyJson(text) {
    const space = " \t\n\r";
    let out = "";
    let depth = 0;
    let i = 0;
    const newline = function () { return "\n" + INDENT.repeat(depth); };
    while (i < text.length) {
      const ch = text[i];
      if (space.includes(ch)) {
        i++;
      } else if (ch === '"') {
        let j = i + 1;
        while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
        out += text.slice(i, j + 1);
        i = j + 1;
      } else if (ch === "{" || ch === "[") {
        let j = i + 1;
        while (j < text.length && space.includes(text[j])) j++;
        if (text[j] === (ch === "{" ? "}" : "]")) {
          out += ch + text[j];
          i = j + 1;
        } else {
          depth++;
          out += ch + newline();
          i++;
        }
      } else if (ch === "}" || ch === "]") {
        depth--;
        out += newline() + ch;
        i++;
      } else if (ch === ",") {
        out += "," + newline();
        i++;
      } else if (ch === ":") {
        out += ": ";
        i++;
      } else {
        let j = i;
        while (j < text.length && !(space + ",:]}").includes(text[j])) j++;
        out += text.slice(i, j);
        i = j;
      }
    }
    return out;
  }

  // The range to mark for a JSON pointer: a property's name, an element's first line, or the
  // deepest part of the path that exists.
  function pointerRange(state, path) {
    const top = CM.syntaxTree(state).topNode;
    let node = firstValue(top);
    if (!node) return { from: 0, to: Math.min(1, state.doc.length) };
    let mark = null;
    const parts = path ? path.split("/").slice(1).map(function (part) {
      return part.replace(/~1/g, "/").replace(/~0/g, "~");
    }) : [];
    for (const part of parts) {
      let next = null;
      if (node.name === "Object") {
        for (let child = node.firstChild; child; child = child.nextSibling) {
          if (child.name !== "Property") continue;
          const key = child.getChild("PropertyName");
          if (key && keyText(state, key) === part) {
            next = firstValue(child);
            mark = key;
          }
        }
      } else if (node.name === "Array" && /^\d+$/.test(part)) {
        let index = 0;
        for (let child = node.firstChild; child; child = child.nextSibling) {
          if (!VALUE_TYPES.has(child.name)) continue;
          if (index++ === Number(part)) { next = child; mark = child; break; }
        }
      }
      if (!next) break;
      node = next;
    }
    const target = mark || node;
    const line = state.doc.lineAt(target.from);
    return { from: target.from, to: Math.max(Math.min(target.to, line.to), target.from) };
  }

  function firstValue(node) {
    for (let child = node.firstChild; child; child = child.nextSibling) {
      if (VALUE_TYPES.has(child.name)) return child;
    }
    return null;
  }

  function keyText(state, key) {
    const raw = state.doc.sliceString(key.from, key.to);
    try { return JSON.parse(raw); } catch (error) { return raw.slice(1, -1); }
  }

  function lineColumnRange(state, lineNumber, column) {
    const doc = state.doc;
    const line = doc.line(Math.min(Math.max(lineNumber, 1), doc.lines));
    const from = Math.min(line.from + Math.max(column - 1, 0), line.to);
    return { from: from, to: Math.min(from + 1, line.to) };
  }

  // ------------------------------------------------------------------ the editor

  // Tab indents: two spaces at the cursor (as the plain textarea does), or the selected lines.
  function insertIndent(view) {
    if (view.state.readOnly) return false;
    if (view.state.selection.ranges.some(function (r) { return !r.empty; })) {
      return CM.indentWithTab.run(view);
    }
    view.dispatch(view.state.replaceSelection(INDENT), { scrollIntoView: true, userEvent: "input" });
    return true;
  }

  function labelFor(area) {
    return area.id ? document.querySelector('label[for="' + CSS.escape(area.id) + '"]') : null;
  }

  function mount(area) {
    if (editors.has(area) || area.getAttribute("data-code-editor") !== "json") return;
    const lines = area.hasAttribute("data-json-lines");
    const readOnly = area.disabled || area.readOnly || area.closest("fieldset[disabled]") !== null;
    const rows = Number(area.getAttribute("rows")) || 6;

    const box = document.createElement("div");
    box.className = "code-editor";
    const bar = document.createElement("div");
    bar.className = "code-editor-bar";
    let format = null;
    let note = null;
    if (!lines && !readOnly) {
      format = document.createElement("button");
      format.type = "button";
      format.className = "btn btn-small";
      format.textContent = "Format";
      format.title = "Re-indent the JSON by two spaces";
      note = document.createElement("span");
      note.className = "muted small code-editor-note";
      note.setAttribute("aria-live", "polite");
      bar.append(format, note);
    }

    const record = { area: area, view: null, server: [], client: null, timer: 0, format: format, note: note, lines: lines };
    const label = labelFor(area);
    const contentAttributes = { "aria-multiline": "true" };
    if (label) {
      if (!label.id) label.id = area.id + "-label";
      contentAttributes["aria-labelledby"] = label.id;
      // The label now names the editor, not the hidden textarea (one field per label).
      label.removeAttribute("for");
      label.addEventListener("click", function () { record.view.focus(); });
    }
    // A hidden required field would stop the form with nothing to show: the editor says it is
    // required instead, and the server still checks.
    if (area.required) {
      area.required = false;
      contentAttributes["aria-required"] = "true";
    }
    const described = area.getAttribute("aria-describedby");
    if (described) contentAttributes["aria-describedby"] = described;

    const extensions = [
      CM.lineNumbers(),
      CM.highlightActiveLineGutter(),
      CM.highlightSpecialChars(),
      CM.history(),
      CM.foldGutter(),
      CM.drawSelection(),
      CM.indentOnInput(),
      CM.syntaxHighlighting(CM.defaultHighlightStyle, { fallback: true }),
      CM.bracketMatching(),
      CM.closeBrackets(),
      CM.highlightActiveLine(),
      CM.lintGutter(),
      CM.json(),
      CM.keymap.of([].concat(
        [{ key: "Tab", run: insertIndent, shift: CM.indentWithTab.shift }],
        CM.closeBracketsKeymap, CM.defaultKeymap, CM.historyKeymap, CM.foldKeymap, CM.lintKeymap
      )),
      CM.EditorView.contentAttributes.of(contentAttributes),
      CM.EditorView.cspNonce.of(nonce),
      CM.EditorView.theme({ "& .cm-content, & .cm-gutter": { minHeight: (rows * 1.45) + "em" } }),
      CM.EditorView.updateListener.of(function (update) {
        if (!update.docChanged) return;
        record.server = record.server.map(function (d) {
          const from = update.changes.mapPos(d.from, 1);
          return Object.assign({}, d, { from: from, to: Math.max(update.changes.mapPos(d.to, -1), from) });
        });
        area.value = update.state.doc.toString();
        area.dispatchEvent(new Event("input", { bubbles: true }));
        scheduleLint(record);
      }),
    ];
    if (area.placeholder) extensions.push(CM.placeholder(area.placeholder));
    if (readOnly) extensions.push(CM.EditorState.readOnly.of(true), CM.EditorView.editable.of(false));

    area.hidden = true;
    area.after(box);
    box.append(bar);
    record.view = new CM.EditorView({
      state: CM.EditorState.create({ doc: area.value, extensions: extensions }),
      parent: box,
    });
    box.insertBefore(record.view.dom, bar);
    if (!bar.childNodes.length) bar.remove();
    if (format) {
      format.addEventListener("click", function () {
        const text = record.view.state.doc.toString();
        if (syntaxError(text, false) || !text.trim()) return;
        const pretty = prettyJson(text);
        if (pretty !== text) {
          record.view.dispatch({ changes: { from: 0, to: text.length, insert: pretty }, userEvent: "format" });
        }
        record.view.focus();
      });
    }
    // A form reset puts the textarea back; show what it holds.
    if (area.form) {
      area.form.addEventListener("reset", function () {
        setTimeout(function () { setText(record, area.value); }, 0);
      });
    }
    editors.set(area, record);
    lintNow(record);
  }

  function setText(record, text) {
    const view = record.view;
    if (view.state.doc.toString() === text) return;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  }

  function scheduleLint(record) {
    clearTimeout(record.timer);
    record.timer = setTimeout(function () { lintNow(record); }, LINT_DELAY_MS);
  }

  function lintNow(record) {
    const text = record.view.state.doc.toString();
    record.client = syntaxError(text, record.lines);
    if (record.format) {
      record.format.disabled = !text.trim() || record.client !== null;
      record.note.textContent = text.trim() && record.client ? "Not valid JSON: fix it to format." : "";
    }
    publish(record);
  }

  function publish(record) {
    const state = record.view.state;
    const length = state.doc.length;
    const diagnostics = record.server.filter(function (d) { return d.to <= length; }).slice();
    const serverSyntax = record.server.some(function (d) { return d.syntax; });
    if (record.client && !serverSyntax) {
      diagnostics.push({ from: record.client.from, to: record.client.to, severity: "error", message: record.client.message });
    }
    diagnostics.sort(function (a, b) { return a.from - b.from; });
    record.view.dispatch(CM.setDiagnostics(state, diagnostics));
  }

  // ------------------------------------------------------------------ server findings

  function applyFindings(list) {
    const form = document.getElementById(list.getAttribute("data-findings-for"));
    if (!form) return;
    const pathsIn = list.getAttribute("data-paths-in");
    const byField = new Map();
    editors.forEach(function (record, area) {
      if (area.form === form && area.isConnected) byField.set(area.name, []);
    });
    list.querySelectorAll("[data-level]").forEach(function (item) {
      const hasLine = item.hasAttribute("data-line");
      const field = hasLine ? item.getAttribute("data-field") : pathsIn;
      if (!hasLine && !item.hasAttribute("data-path")) return;
      const bucket = byField.get(field);
      if (!bucket) return;
      const record = editors.get(form.elements.namedItem(field));
      const state = record.view.state;
      const range = hasLine
        ? lineColumnRange(state, Number(item.getAttribute("data-line")), Number(item.getAttribute("data-column")) || 1)
        : pointerRange(state, item.getAttribute("data-path"));
      bucket.push({
        from: range.from,
        to: range.to,
        severity: item.getAttribute("data-level") === "error" ? "error" : "warning",
        message: item.getAttribute("data-message") || item.textContent.trim(),
        syntax: hasLine,
      });
    });
    byField.forEach(function (diagnostics, field) {
      const record = editors.get(form.elements.namedItem(field));
      if (!record) return;
      record.server = diagnostics;
      publish(record);
    });
  }

  function scan(root) {
    if (!root || !root.querySelectorAll) return;
    const areas = root.matches && root.matches('textarea[data-code-editor="json"]') ? [root] : [];
    root.querySelectorAll('textarea[data-code-editor="json"]').forEach(function (a) { areas.push(a); });
    areas.forEach(mount);
    const lists = root.matches && root.matches("[data-findings-for]") ? [root] : [];
    root.querySelectorAll("[data-findings-for]").forEach(function (l) { lists.push(l); });
    lists.forEach(applyFindings);
  }

  document.addEventListener("htmx:load", function (event) { scan(event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(document.body); });
  } else {
    scan(document.body);
  }
  window.fcstudioCodeEditor = { prettyJson: prettyJson, syntaxError: syntaxError };
})();
