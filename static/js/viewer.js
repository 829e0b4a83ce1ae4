// The viewer (the item page): zoom and pan of the image, keyframe seeking of a video, an image group's frame
// strip, and the keys ← / → (previous / next item of the explorer's result) and Esc (back to the grid).
// Without this file the page still shows the media and every link works.
(function () {
  "use strict";
  var MIN = 0.1, MAX = 16, STEP = 1.25;

  function typing(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  // --- zoom and pan ---------------------------------------------------------------------------
  function ZoomPan(stage) {
    this.stage = stage;
    this.inner = stage.querySelector(".stage-inner");
    this.img = stage.querySelector("img");
    this.scale = 1; this.x = 0; this.y = 0; this.fitted = true;
    this.label = document.getElementById("zoom-level");
    var self = this;
    if (this.img.complete) this.fit(); else this.img.addEventListener("load", function () { self.fit(); });
    window.addEventListener("resize", function () { if (self.fitted) self.fit(); });
    stage.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      var r = stage.getBoundingClientRect();
      self.zoomAt(ev.deltaY < 0 ? STEP : 1 / STEP, ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
    var drag = null;
    stage.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX - self.x, y: ev.clientY - self.y };
      stage.setPointerCapture(ev.pointerId);
      stage.classList.add("dragging");
    });
    stage.addEventListener("pointermove", function (ev) {
      if (!drag) return;
      self.x = ev.clientX - drag.x; self.y = ev.clientY - drag.y; self.fitted = false;
      self.apply();
    });
    function end() { drag = null; stage.classList.remove("dragging"); }
    stage.addEventListener("pointerup", end);
    stage.addEventListener("pointercancel", end);
    stage.addEventListener("dblclick", function () { self.fit(); });
  }
  ZoomPan.prototype.natural = function () {
    return { w: this.img.naturalWidth || this.img.width || 1, h: this.img.naturalHeight || this.img.height || 1 };
  };
  ZoomPan.prototype.fit = function () {
    var n = this.natural(), r = this.stage.getBoundingClientRect();
    this.scale = Math.min(r.width / n.w, r.height / n.h) || 1;
    this.x = (r.width - n.w * this.scale) / 2;
    this.y = (r.height - n.h * this.scale) / 2;
    this.fitted = true;
    this.apply();
  };
  ZoomPan.prototype.zoomAt = function (factor, cx, cy) {
    var s = Math.min(MAX, Math.max(MIN, this.scale * factor));
    factor = s / this.scale;
    this.x = cx - (cx - this.x) * factor;
    this.y = cy - (cy - this.y) * factor;
    this.scale = s; this.fitted = false;
    this.apply();
  };
  ZoomPan.prototype.zoomCentre = function (factor) {
    var r = this.stage.getBoundingClientRect();
    this.zoomAt(factor, r.width / 2, r.height / 2);
  };
  ZoomPan.prototype.apply = function () {
    var n = this.natural();
    this.inner.style.width = n.w + "px";
    this.inner.style.height = n.h + "px";
    this.inner.style.transform = "translate(" + this.x + "px," + this.y + "px) scale(" + this.scale + ")";
    this.stage.dataset.zoom = this.scale.toFixed(3);
    if (this.label) this.label.textContent = Math.round(this.scale * 100) + "%";
  };
  ZoomPan.prototype.show = function (src) {
    var self = this;
    this.img.addEventListener("load", function once() { self.img.removeEventListener("load", once); self.fit(); });
    this.img.src = src;
  };

  // --- video keyframes ------------------------------------------------------------------------
  function setupVideo(video) {
    document.addEventListener("click", function (ev) {
      var mark = ev.target.closest("[data-time]");
      if (!mark || !mark.closest(".video-stage")) return;
      video.currentTime = parseFloat(mark.dataset.time);
      video.dataset.seeked = mark.dataset.time;
    });
    // Positions from the real duration once known (the server's figure may be missing).
    video.addEventListener("loadedmetadata", function () {
      if (!isFinite(video.duration) || video.duration <= 0) return;
      document.querySelectorAll("#timeline .kf").forEach(function (m) {
        m.style.left = Math.min(100, 100 * parseFloat(m.dataset.time) / video.duration) + "%";
      });
    });
  }

  // --- image group frames ---------------------------------------------------------------------
  function setupStrip(strip, zoom) {
    var tiles = strip.querySelectorAll(".frame-tile");
    function select(i) {
      if (i < 0 || i >= tiles.length) return;
      tiles.forEach(function (t, n) { t.classList.toggle("active", n === i); });
      document.querySelectorAll("[data-frame-meta]").forEach(function (m) {
        m.hidden = m.dataset.frameMeta !== String(i);
      });
      strip.dataset.current = String(i);
      if (zoom) zoom.show(tiles[i].dataset.src);
      tiles[i].scrollIntoView({ block: "nearest", inline: "nearest" });
    }
    strip.addEventListener("click", function (ev) {
      var tile = ev.target.closest(".frame-tile");
      if (tile) select(parseInt(tile.dataset.frame, 10));
    });
    strip.dataset.current = "0";
    return function (delta) { select(parseInt(strip.dataset.current, 10) + delta); };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var viewer = document.getElementById("viewer");
    if (!viewer) return;
    var stage = document.getElementById("stage");
    var zoom = stage && stage.querySelector(".stage-inner") ? new ZoomPan(stage) : null;
    var video = document.getElementById("video");
    if (video) setupVideo(video);
    var strip = document.getElementById("frames");
    var stepFrame = strip ? setupStrip(strip, zoom) : null;

    viewer.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-zoom]");
      if (!b || !zoom) return;
      if (b.dataset.zoom === "in") zoom.zoomCentre(STEP);
      else if (b.dataset.zoom === "out") zoom.zoomCentre(1 / STEP);
      else zoom.fit();
    });

    document.addEventListener("keydown", function (ev) {
      if (ev.defaultPrevented || ev.altKey || ev.ctrlKey || ev.metaKey || typing(document.activeElement)) return;
      if (document.activeElement === video && (ev.key === "ArrowLeft" || ev.key === "ArrowRight")) return;
      var go = null;
      if (ev.key === "ArrowLeft") go = viewer.dataset.prev;
      else if (ev.key === "ArrowRight") go = viewer.dataset.next;
      else if (ev.key === "Escape") go = viewer.dataset.back;
      else if ((ev.key === "ArrowDown" || ev.key === "ArrowUp") && stepFrame) {
        ev.preventDefault(); stepFrame(ev.key === "ArrowDown" ? 1 : -1); return;
      } else if ((ev.key === "+" || ev.key === "=") && zoom) { zoom.zoomCentre(STEP); return; }
      else if (ev.key === "-" && zoom) { zoom.zoomCentre(1 / STEP); return; }
      else if (ev.key === "0" && zoom) { zoom.fit(); return; }
      if (go) { ev.preventDefault(); window.location.assign(go); }
    });
  });
})();
