// Upload of images and videos onto a folder page: drag and drop or a file picker, one request per file to the
// folder's media endpoint (session + CSRF), a few at a time, with a progress bar per file and for the batch.
// Each file becomes an item titled by its name (an existing title in the folder is updated). When the batch
// is done the folder's item grid is reloaded.
(function () {
  "use strict";
  var PARALLEL = 3;

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function size(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1048576) return (bytes / 1024).toFixed(0) + " KB";
    return (bytes / 1048576).toFixed(1) + " MB";
  }

  function errorText(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      var parts = [body.detail].concat((body.errors || []).map(function (e) { return e.msg; }));
      return parts.filter(Boolean).join(": ") || ("HTTP " + xhr.status);
    } catch (e) {
      return xhr.status ? "HTTP " + xhr.status : "the connection failed";
    }
  }

  function Batch(zone, files) {
    this.zone = zone;
    this.queue = [];
    this.total = 0; this.sent = 0; this.done = 0; this.failed = 0; this.running = 0;
    var list = zone.querySelector(".upload-files");
    var self = this;
    Array.prototype.forEach.call(files, function (file) {
      var li = document.createElement("li");
      li.className = "upload-file";
      li.dataset.name = file.name;
      var name = document.createElement("span"); name.className = "name"; name.textContent = file.name;
      var bar = document.createElement("progress"); bar.max = file.size || 1; bar.value = 0;
      var state = document.createElement("span"); state.className = "state"; state.textContent = "waiting · " + size(file.size);
      li.append(name, bar, state);
      list.appendChild(li);
      self.queue.push({ file: file, li: li, bar: bar, state: state, loaded: 0 });
      self.total += file.size || 1;
    });
    this.entries = this.queue.slice();
    var batch = zone.querySelector(".upload-batch");
    batch.hidden = false;
    this.bar = batch.querySelector("progress");
    this.label = batch.querySelector(".upload-summary");
    this.bar.max = this.total; this.bar.value = 0;
    zone.dataset.state = "uploading";
    this.update();
  }
  Batch.prototype.update = function () {
    var loaded = this.entries.reduce(function (n, e) { return n + e.loaded; }, 0);
    this.bar.value = loaded;
    this.label.textContent = (this.done + this.failed) + " of " + this.entries.length + " files · " +
      size(loaded) + " of " + size(this.total) + (this.failed ? " · " + this.failed + " failed" : "");
  };
  Batch.prototype.pump = function () {
    while (this.running < PARALLEL && this.queue.length) this.send(this.queue.shift());
    if (!this.running && !this.queue.length) this.finish();
  };
  Batch.prototype.send = function (entry) {
    var self = this, zone = this.zone;
    var form = new FormData();
    form.append(zone.dataset.field || "files", entry.file, entry.file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", zone.dataset.url);
    xhr.setRequestHeader("X-CSRFToken", csrf());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (ev) {
      if (!ev.lengthComputable) return;
      entry.loaded = Math.min(entry.file.size, ev.loaded * entry.file.size / ev.total);
      entry.bar.value = entry.loaded;
      entry.state.textContent = Math.round(100 * ev.loaded / ev.total) + " %";
      self.update();
    });
    xhr.addEventListener("loadend", function () {
      self.running -= 1;
      entry.loaded = entry.file.size || 1;
      entry.bar.value = entry.bar.max;
      var row = null;
      try { row = JSON.parse(xhr.responseText).results[0]; } catch (e) { row = null; }
      if (xhr.status >= 200 && xhr.status < 300 && row && row.status !== "failed") {
        self.done += 1;
        entry.li.classList.add("ok");
        entry.state.textContent = row.status === "updated" ? "updated" : "uploaded";
      } else if (row && row.status === "failed") {
        self.failed += 1;
        entry.li.classList.add("failed");
        entry.state.textContent = row.error;
      } else {
        self.failed += 1;
        entry.li.classList.add("failed");
        entry.state.textContent = errorText(xhr);
      }
      self.update();
      self.pump();
    });
    this.running += 1;
    entry.state.textContent = "0 %";
    xhr.send(form);
  };
  Batch.prototype.finish = function () {
    var zone = this.zone;
    zone.dataset.state = "done";
    this.label.textContent = "Done: " + this.done + " uploaded" + (this.failed ? ", " + this.failed + " failed" : "") + ".";
    var grid = document.getElementById("folder-items");
    if (grid && window.htmx && this.done) {
      window.htmx.ajax("GET", window.location.href, { target: "#folder-items", select: "#folder-items", swap: "outerHTML" });
    }
  };

  function start(zone, files) {
    if (!files || !files.length) return;
    new Batch(zone, files).pump();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var zone = document.getElementById("dropzone");
    if (!zone) return;
    zone.hidden = false;
    var input = zone.querySelector("input[type=file]");
    input.addEventListener("change", function () { start(zone, input.files); input.value = ""; });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (ev) { ev.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function (ev) { ev.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (ev) { start(zone, ev.dataTransfer.files); });
  });
})();
