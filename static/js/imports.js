// The import form shows only the inputs of the chosen kind. Hidden inputs are also disabled, so they are not
// sent. Without JavaScript every input shows, each saying which kinds it is for, and the server ignores the
// ones the chosen kind does not read.
(function () {
  "use strict";
  function toggle(form, kind) {
    form.querySelectorAll("[data-kinds]").forEach(function (row) {
      var shown = row.getAttribute("data-kinds").split(" ").indexOf(kind) !== -1;
      row.hidden = !shown;
      row.querySelectorAll("input, select, textarea").forEach(function (el) { el.disabled = !shown; });
      var note = row.querySelector("[data-kinds-note]");
      if (note) note.hidden = true;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("import-form");
    var kind = form && form.querySelector("#id_kind");
    if (!kind) return;
    toggle(form, kind.value);
    kind.addEventListener("change", function () { toggle(form, kind.value); });
  });
})();
