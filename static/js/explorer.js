// Explorer enhancements: live "N selected" count and "Select page" without a reload.
// Every control also works without this file (links and forms reload the page).
(function () {
  "use strict";
  function form() { return document.getElementById("selection"); }
  function refresh() {
    var f = form(); if (!f) return;
    var out = f.querySelector("[data-selected]");
    if (out) out.textContent = f.querySelectorAll("input[name=item]:checked").length;
  }
  document.addEventListener("change", function (ev) {
    if (ev.target.matches("#selection input[name=item]")) refresh();
  });
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest("[data-select-page]");
    if (!link) return;
    ev.preventDefault();
    var boxes = form().querySelectorAll("input[name=item]");
    var all = Array.prototype.every.call(boxes, function (b) { return b.checked; });
    boxes.forEach(function (b) { b.checked = !all; });
    refresh();
  });
})();
