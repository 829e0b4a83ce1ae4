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
  // A 400 answered to a request from inside [data-swap-errors] is the page's own fragment with the errors
  // marked in it (a form's answer): swap it like a success. Listening on <body> runs before django-htmx's
  // development helper (on document), which would otherwise replace the whole page with the fragment.
  function ownsErrors(detail) {
    var elt = detail.requestConfig ? detail.requestConfig.elt : detail.elt;
    return detail.xhr && detail.xhr.status === 400 && elt && elt.closest && elt.closest("[data-swap-errors]");
  }
  function onBody() {
    document.body.addEventListener("htmx:beforeOnLoad", function (ev) { if (ownsErrors(ev.detail)) ev.stopPropagation(); });
    document.body.addEventListener("htmx:beforeSwap", function (ev) {
      if (ownsErrors(ev.detail)) { ev.detail.shouldSwap = true; ev.detail.isError = false; }
    });
  }
  if (document.body) onBody(); else document.addEventListener("DOMContentLoaded", onBody);
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
  document.addEventListener("htmx:afterSettle", function (ev) { localTimes(ev.target); });
})();
