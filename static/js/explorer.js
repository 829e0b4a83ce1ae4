// Explorer enhancements: live "N selected" count, "Select page" without a reload, and the tile size.
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
  // Tile size of the grid, remembered in this browser.
  var TILE_KEY = "metadata_site.tileSize";
  function tiles(root) {
    var input = root.querySelector ? root.querySelector("#tile-size") : null;
    var grid = document.getElementById("grid");
    if (!input || !grid) return;
    var saved = null;
    try { saved = window.localStorage.getItem(TILE_KEY); } catch (e) { /* storage may be off */ }
    if (saved) input.value = saved;
    grid.style.setProperty("--tile", input.value + "px");
    input.closest(".tile-size").hidden = false;
  }
  document.addEventListener("input", function (ev) {
    if (ev.target.id !== "tile-size") return;
    var grid = document.getElementById("grid");
    if (grid) grid.style.setProperty("--tile", ev.target.value + "px");
    try { window.localStorage.setItem(TILE_KEY, ev.target.value); } catch (e) { /* storage may be off */ }
  });
  document.addEventListener("DOMContentLoaded", function () { tiles(document); });
  document.addEventListener("htmx:afterSettle", function () { tiles(document); });
})();
