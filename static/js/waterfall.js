// The conversation waterfall: drawn (fetched) the first time its panel opens, in the scale
// chosen; the socket replaces #waterfall-refresh when the conversation moved on, and the chart
// is fetched again at once if the panel is open, else on its next opening.
(function () {
  "use strict";
  var details = document.getElementById("waterfall");
  var form = document.getElementById("waterfall-scales");
  var live = document.getElementById("waterfall-live");
  if (!details || !form || !live || !window.htmx) return;
  var stale = true;
  function redraw() {
    stale = false;
    window.htmx.trigger(form, "refresh");
  }
  details.addEventListener("toggle", function () {
    if (details.open && stale) redraw();
  });
  new MutationObserver(function () {
    if (details.open) redraw();
    else stale = true;
  }).observe(live, { childList: true });
  if (details.open) redraw();
})();
