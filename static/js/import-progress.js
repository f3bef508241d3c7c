// Import page: show rows/s and the time left while htmx refreshes #import-status every second.
(function () {
  "use strict";
  var first = null;
  function update() {
    var el = document.getElementById("import-status");
    if (!el) return;
    var done = parseInt(el.dataset.rowsDone || "0", 10);
    var total = parseInt(el.dataset.total || "0", 10);
    var now = Date.now() / 1000;
    if (el.dataset.status === "running" || el.dataset.status === "validating") {
      if (first === null) first = { t: now, done: done };
      var span = el.querySelector(".import-rate");
      var dt = now - first.t;
      if (span && dt > 0.5 && done > first.done) {
        var rate = (done - first.done) / dt;
        var eta = total > done ? Math.round((total - done) / rate) : 0;
        var text = el.dataset.rateText || "· {rate} rows/s · about {eta} s left";
        span.textContent = text.replace("{rate}", Math.round(rate).toLocaleString()).replace("{eta}", eta.toLocaleString());
      }
    }
    document.title = document.title.replace(/^\d+% · /, "");
    if (el.dataset.status === "running") {
      document.title = Math.round((100 * done) / Math.max(total, 1)) + "% · " + document.title;
    }
  }
  document.addEventListener("htmx:afterSwap", update);
  document.addEventListener("DOMContentLoaded", update);
})();
