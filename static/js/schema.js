// Field forms: options and "multi-valued" belong to enums only, so they show only while the type is enum.
// (The server clears them for any other type, so the form also works without JavaScript.)
(function () {
  "use strict";
  function toggle(select) {
    var form = select.closest("form");
    form.querySelectorAll("[data-enum-only]").forEach(function (row) { row.hidden = select.value !== "enum"; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form select[name=type]").forEach(function (select) {
      toggle(select);
      select.addEventListener("change", function () { toggle(select); });
    });
  });
})();
