// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Render <time data-local> in the viewer's time zone, keeping UTC in the title.
  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      el.title = el.getAttribute("datetime");
      el.textContent = d.toLocaleString();
      el.removeAttribute("data-local");
    });
  }
  // Confirm dialogs declared in markup: <button data-confirm="Sure?">.
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); ev.stopPropagation(); }
  }, true);
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
  document.addEventListener("htmx:afterSettle", function (ev) { localTimes(ev.target); });
})();
