// Explorer enhancements: live "N selected" count, "Select page" without a reload, the OR group builder's
// add / remove rows, keeping the old count and facets (dimmed) while new ones load, and the tile size.
// Every control also works without this file (links and forms reload the page; "Apply filters" submits).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function form() { return document.getElementById("selection"); }
  function refresh() {
    var f = form(); if (!f) return;
    var checked = f.querySelectorAll("input[name=item]:checked").length;
    var out = f.querySelector("[data-selected]");
    if (out) out.textContent = checked;
    var act = document.getElementById("act-on-selection");
    var byFilter = f.querySelector("input[name=selection][value=filter]");
    if (act) {
      act.disabled = !byFilter && checked === 0;
      act.title = act.disabled ? "Tick items, or choose “Select all matching”, first" : "";
    }
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

  // The OR group builder: only the operators the chosen field allows; add and remove rows.
  function fitOperators(row) {
    var field = row.querySelector("select[name='or.field']");
    var op = row.querySelector("select[name='or.op']");
    if (!field || !op) return;
    var chosen = field.selectedOptions[0];
    var allowed = chosen && chosen.dataset.ops ? chosen.dataset.ops.split(" ") : null;
    Array.prototype.forEach.call(op.options, function (o) { o.hidden = o.disabled = !!allowed && allowed.indexOf(o.value) < 0; });
    if (allowed && allowed.indexOf(op.value) < 0) op.value = allowed[0];
    var value = row.querySelector("input[name='or.value']");
    var noValue = op.value === "is_set" || op.value === "is_unset";
    value.disabled = noValue;
    if (noValue) value.value = "";
  }
  function setupOr(root) {
    root.querySelectorAll(".or-row").forEach(fitOperators);
  }
  function changed(el) { el.dispatchEvent(new Event("input", { bubbles: true })); }
  document.addEventListener("change", function (ev) {
    var row = ev.target.closest(".or-row");
    if (row && ev.target.matches("select")) fitOperators(row);
  });
  document.addEventListener("click", function (ev) {
    var remove = ev.target.closest("[data-or-remove]");
    if (remove) {
      var group = remove.closest(".or-group");
      remove.closest(".or-row").remove();
      changed(group);
      return;
    }
    var add = ev.target.closest("[data-or-add]");
    if (add) {
      var blank = add.closest(".or-group").querySelector("[data-or-blank]");
      if (!blank) return;
      if (blank.querySelector("select[name='or.field']").value) {
        // The blank row is in use: it becomes a row like the others and a new blank row follows it.
        var fresh = blank.cloneNode(true);
        var n = add.closest(".or-group").querySelectorAll(".or-row").length + 1;
        blank.removeAttribute("data-or-blank");
        fresh.classList.remove("has-error");
        fresh.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
        fresh.querySelectorAll("select, input, button").forEach(function (el) {
          if (el.id) el.id = el.id.replace(/-\d+$/, "-" + n);
          var label = el.getAttribute("aria-label");
          if (label) el.setAttribute("aria-label", label.replace(/\d+/, n));
          el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby");
          if (el.name === "or.field") el.value = "";
          if (el.name === "or.op") el.selectedIndex = 0;
          if (el.name === "or.value") { el.value = ""; el.disabled = false; }
        });
        blank.after(fresh);
        blank = fresh;
        fitOperators(fresh);
      }
      blank.querySelector("select[name='or.field']").focus();
    }
  });

  // A half-built OR row (a field, an operator that needs a value, no value yet) waits: changing it does not
  // apply the filters until it is complete (Apply still submits it, and the server says what is missing).
  document.addEventListener("input", function (ev) {
    var row = ev.target.closest && ev.target.closest(".or-row");
    if (!row) return;
    var field = row.querySelector("select[name='or.field']").value;
    var op = row.querySelector("select[name='or.op']").value;
    var value = row.querySelector("input[name='or.value']").value.trim();
    if (field && !value && op !== "is_set" && op !== "is_unset") ev.stopPropagation();
  }, true);

  // Sort and the table's columns belong to the filters form (form="filters"): a change applies it.
  document.addEventListener("change", function (ev) {
    if (ev.target.id === "sort" || ev.target.closest("#columns")) {
      var filters = document.getElementById("filters");
      if (filters) filters.requestSubmit();
    }
  });

  // Count and facets: the new results arrive with loading placeholders; show the previous figures dimmed
  // until the fresh ones replace them, instead of blanking them out.
  function isResults(el) { return el && (el.id === "explorer" || el.id === "ex-results"); }
  var previous = null;
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var target = ev.detail.target;
    var elt = ev.detail.requestConfig && ev.detail.requestConfig.elt;
    if (!isResults(target)) return;
    var filters = document.getElementById("filters");
    // The user typed again after this request left and the form would be replaced: a newer request
    // follows, so keep what they typed.
    if (target.id === "explorer" && filters && filters.dataset.dirty && elt === filters) {
      ev.detail.shouldSwap = false;
      return;
    }
    var total = document.getElementById("total");
    var facets = document.getElementById("facets");
    var counts = {};
    document.querySelectorAll("#filters .count[id], #filters .hist[id]").forEach(function (el) { counts[el.id] = el.innerHTML; });
    previous = {
      total: total && (!total.hasAttribute("data-loading") || total.dataset.stale) ? total.innerHTML : null,
      facets: facets && (!facets.hasAttribute("data-loading") || facets.dataset.stale) ? facets.innerHTML : null,
      counts: counts,
    };
  });
  document.addEventListener("htmx:beforeRequest", function (ev) {
    if (ev.detail.elt && ev.detail.elt.id === "filters") delete ev.detail.elt.dataset.dirty;
  });
  document.addEventListener("input", function (ev) {
    var filters = ev.target.closest && ev.target.closest("#filters");
    if (filters) filters.dataset.dirty = "1";
  });
  // The form now stands for the URL just pushed: write its current values into its attributes, which is what
  // htmx's history snapshot keeps, so Back shows the form as it was for that URL (not as the user changed it next).
  function commit(form) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.type === "checkbox" || el.type === "radio") el.toggleAttribute("checked", el.checked);
      else if (el.tagName === "SELECT") Array.prototype.forEach.call(el.options, function (o) { o.toggleAttribute("selected", o.selected); });
      else if (el.tagName === "INPUT" && el.type !== "hidden") el.setAttribute("value", el.value);
    });
  }
  function stale(el, html) {
    if (!el || html === null || html === undefined) return;
    el.innerHTML = html;
    el.dataset.stale = "1";
    el.classList.add("stale");
    el.setAttribute("aria-busy", "true");
  }
  // After settling, not after swapping: while settling, htmx gives a new element the attributes of the old
  // one with its id (for CSS transitions), then puts its own back, which would wipe the "stale" mark.
  document.addEventListener("htmx:afterSettle", function (ev) {
    if (!isResults(ev.detail.target) || !previous) return;
    var filters = document.getElementById("filters");
    if (filters && ev.detail.xhr.status < 300) commit(filters);
    if (ev.detail.target.id === "ex-results" && filters && ev.detail.xhr.status < 300) {
      // The form was kept (only the results were swapped): the request was valid, so no error stands.
      filters.querySelectorAll(".field-error").forEach(function (el) { el.remove(); });
      filters.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
      filters.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); el.removeAttribute("aria-describedby"); });
    }
    var total = document.getElementById("total");
    {
      if (total && total.hasAttribute("data-loading")) stale(total, previous.total);
      var facets = document.getElementById("facets");
      if (facets && facets.hasAttribute("data-loading")) stale(facets, previous.facets);
      Object.keys(previous.counts).forEach(function (id) {
        var el = document.getElementById(id);
        if (!el) return;
        if (!el.innerHTML.trim()) stale(el, previous.counts[id]);
        else el.classList.add("stale");
      });
      previous = null;
    }
    if (total && total.hasAttribute("data-loading") && !total.dataset.stale) total.textContent = "counting…";
    setupOr(document);
    refresh();
  });
  // A fresh facet list replaces a stale one: no longer dimmed.
  document.addEventListener("htmx:afterSettle", function (ev) {
    var el = ev.detail.elt;
    if (el && el.id === "facets") {
      el.classList.remove("stale"); el.removeAttribute("aria-busy"); delete el.dataset.stale;
      el.removeAttribute("data-loading");
    }
  });
  document.addEventListener("htmx:responseError", function (ev) {
    var el = ev.detail.elt;
    if (el && (el.id === "total" || el.id === "facets")) {
      el.classList.remove("stale");
      el.textContent = el.id === "total" ? "count unavailable" : "Counts unavailable.";
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var total = document.getElementById("total");
    if (total && total.hasAttribute("data-loading")) total.textContent = "counting…";
    setupOr(document);
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
