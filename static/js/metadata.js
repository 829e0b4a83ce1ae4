// Metadata forms: datetime inputs are edited in the viewer's time zone. The server sends UTC; this script
// shows local time and fills the hidden offset input next to each datetime input, so the server stores UTC.
// Without JavaScript the inputs stay in UTC (the label says so).
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function offsetOf(date) {
    var minutes = -date.getTimezoneOffset();
    var sign = minutes >= 0 ? "+" : "-";
    minutes = Math.abs(minutes);
    return sign + pad(Math.floor(minutes / 60)) + ":" + pad(minutes % 60);
  }
  function localText(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }
  function setup(root) {
    var zone = (Intl.DateTimeFormat().resolvedOptions().timeZone) || "local time";
    root.querySelectorAll("input[data-utc]").forEach(function (input) {
      var hidden = document.querySelector('input[data-tz-for="' + input.id + '"]');
      if (!hidden) return;
      input.removeAttribute("data-utc");
      if (input.value) {
        var fraction = (input.value.match(/(\.\d+)$/) || ["", ""])[1];
        var d = new Date(input.value.replace(/\.\d+$/, "") + "Z");
        if (isNaN(d)) return;
        input.value = localText(d) + fraction;
      }
      function update() {
        var d = input.value ? new Date(input.value.replace(/\.\d+$/, "")) : null;
        hidden.value = d && !isNaN(d) ? offsetOf(d) : "Z";
      }
      update();
      input.addEventListener("input", update);
      input.addEventListener("change", update);
      var row = input.closest(".form-row");
      var label = row && row.querySelector("[data-tz-label]");
      if (label) label.textContent = zone;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { setup(document); });
  document.addEventListener("htmx:afterSettle", function (ev) { setup(ev.target); });
  // Inputs swapped in by another script (the bulk edit's value input).
  document.addEventListener("metadata:inputs", function (ev) { setup(ev.target); });
})();
