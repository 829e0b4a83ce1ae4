// Bulk edit: the value input follows the chosen field (its own input, from a <template> the server rendered
// for each declared field), and is hidden while "remove field" is chosen. Without JavaScript the form keeps
// a text input, which the server parses by the field's type.
(function () {
  "use strict";
  function swap(form) {
    var select = form.querySelector("#id_bulk_field");
    var slot = form.querySelector("[data-bulk-value-slot]");
    if (!select || !slot) return;
    var tpl = form.querySelector('template[data-bulk-value-for="' + CSS.escape(select.value) + '"]') ||
      form.querySelector('template[data-bulk-value-for=""]');
    slot.replaceChildren(tpl.content.cloneNode(true));
    slot.dataset.bulkValueShown = select.value;
    var error = form.querySelector("#bulk-value-error");
    if (error) error.remove();
    slot.dispatchEvent(new CustomEvent("metadata:inputs", { bubbles: true }));
  }
  function toggleValue(form) {
    var action = form.querySelector("#id_bulk_action");
    var cell = form.querySelector("#bulk-value");
    if (action && cell) cell.hidden = action.value === "remove";
  }
  function setup(root) {
    var form = root.querySelector ? root.querySelector("#bulk-edit-form") : null;
    if (!form || form.dataset.bulkReady) return;
    form.dataset.bulkReady = "1";
    form.addEventListener("change", function (ev) {
      if (ev.target.id === "id_bulk_field") swap(form);
      if (ev.target.id === "id_bulk_action") toggleValue(form);
    });
    toggleValue(form);
    // A field chosen before this script ran (a slow page) has no change event left to see: catch up with it.
    var select = form.querySelector("#id_bulk_field");
    var slot = form.querySelector("[data-bulk-value-slot]");
    if (select && slot && select.value !== (slot.dataset.bulkValueShown || "")) swap(form);
  }
  document.addEventListener("DOMContentLoaded", function () { setup(document); });
})();
