/* Visit check-in on the map's route panel (analysis app): each stop gets a "Log visit" button that
 * records a visit to its customer now, with the browser's location when it gives one. */
(function () {
  "use strict";
  var box = document.getElementById("dz-check-in");
  var list = document.getElementById("dz-route-list");
  if (!box || !list) { return; }

  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) { return decodeURIComponent(m[1]); }
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function where() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(
        function (pos) { resolve(pos.coords); },
        function () { resolve(null); },
        { timeout: 8000, maximumAge: 60000 }
      );
    });
  }

  function logVisit(stop, button, status) {
    button.disabled = true;
    status.textContent = box.dataset.working;
    where().then(function (coords) {
      var body = new FormData();
      body.append("address", stop.dataset.id);
      if (coords) { body.append("lat", coords.latitude.toFixed(6)); body.append("lng", coords.longitude.toFixed(6)); }
      return fetch(box.dataset.url, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf(), Accept: "application/json" } });
    }).then(function (r) { return r.json().then(function (data) { return { ok: r.ok && data.ok, data: data }; }); })
      .then(function (res) {
        status.textContent = res.ok ? res.data.message + (res.data.located ? "" : " " + box.dataset.unlocated) : box.dataset.failed;
        status.className = "small dz-check-in-status " + (res.ok ? "text-success" : "text-danger");
        button.disabled = false;
      })
      .catch(function () { status.textContent = box.dataset.failed; status.className = "small dz-check-in-status text-danger"; button.disabled = false; });
  }

  function decorate() {
    list.querySelectorAll("li.dz-route-stop").forEach(function (stop) {
      if (stop.querySelector(".dz-check-in")) { return; }
      var button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-outline-success btn-sm dz-check-in mt-1";
      button.innerHTML = '<i class="bi bi-geo-alt" aria-hidden="true"></i> ';
      button.appendChild(document.createTextNode(box.dataset.label));
      var status = document.createElement("div");
      status.className = "small dz-check-in-status";
      status.setAttribute("aria-live", "polite");
      button.addEventListener("click", function () { logVisit(stop, button, status); });
      stop.appendChild(button);
      stop.appendChild(status);
    });
  }

  new MutationObserver(decorate).observe(list, { childList: true });
  decorate();
})();
