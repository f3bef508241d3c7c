/* The address form: the pasted text fills the structured fields (the parse
 * preview comes from the server through htmx), cascading region pickers
 * (country → province → city → district) and a draggable pin for a precise
 * location. Needs Leaflet, mini-map.js (window.DizhiMap) and region-picker.js
 * (window.DizhiRegions: the region fetching and option filling every picker shares).
 */
(function () {
  "use strict";

  var LEVELS = ["country", "province", "city", "district"];
  var ZOOM = { country: 4, province: 7, city: 10, district: 12 };

  function init(container) {
    var prefix = container.dataset.prefix || "";
    var childrenUrl = container.dataset.childrenUrl;
    var field = function (name) {
      return container.querySelector('[name="' + prefix + name + '"]');
    };
    var selects = {};
    LEVELS.forEach(function (level) { selects[level] = field(level); });
    var lat = field("lat"), lng = field("lng"), pinMoved = field("pin_moved");
    var status = container.querySelector("[data-pin-status]");
    var resetButton = container.querySelector("[data-pin-reset]");
    var original = { lat: lat.value, lng: lng.value };
    var centroids = {}; // code → [lat, lng] for the regions listed in the pickers

    // -- cascading pickers ---------------------------------------------------

    function loadChildren(parent) {
      return window.DizhiRegions.children(childrenUrl, parent);
    }

    function fill(select, items, selected) {
      items.forEach(function (item) {
        if (item.lat != null) centroids[item.code] = [item.lat, item.lng];
      });
      window.DizhiRegions.fill(select, items, selected);
      select.disabled = items.length === 0 && select !== selects.country;
    }

    function refreshProvinces(selected) {
      return loadChildren(selects.country.value).then(function (items) {
        fill(selects.province, items.filter(function (i) { return i.level === "province"; }), selected);
      });
    }

    // Districts hang under their city, or straight under the province (仙桃, 济源).
    function refreshCities(selectedCity) {
      return loadChildren(selects.province.value).then(function (items) {
        fill(selects.city, items.filter(function (i) { return i.level === "city"; }), selectedCity);
        return items.filter(function (i) { return i.level === "district"; });
      });
    }

    function refreshDistricts(direct, selected) {
      return loadChildren(selects.city.value).then(function (items) {
        fill(selects.district, items.concat(direct || []), selected);
      });
    }

    function setChain(chain) {
      chain = chain || {};
      if (chain.country && selects.country.value !== chain.country) selects.country.value = chain.country;
      return refreshProvinces(chain.province)
        .then(function () { return refreshCities(chain.city); })
        .then(function (direct) { return refreshDistricts(direct, chain.district); });
    }

    function deepestCode() {
      for (var i = LEVELS.length - 1; i >= 0; i--) {
        if (selects[LEVELS[i]].value) return { code: selects[LEVELS[i]].value, level: LEVELS[i] };
      }
      return null;
    }

    selects.country.addEventListener("change", function () {
      refreshProvinces("").then(function () { return refreshCities(""); })
        .then(function (direct) { return refreshDistricts(direct, ""); }).then(followRegion);
    });
    selects.province.addEventListener("change", function () {
      refreshCities("").then(function (direct) { return refreshDistricts(direct, ""); }).then(followRegion);
    });
    selects.city.addEventListener("change", function () {
      loadChildren(selects.province.value).then(function (items) {
        return refreshDistricts(items.filter(function (i) { return i.level === "district"; }), "");
      }).then(followRegion);
    });
    selects.district.addEventListener("change", followRegion);

    // Initial state of a bound or edited form: cities/districts without a parent stay disabled.
    ["province", "city", "district"].forEach(function (level) {
      if (selects[level].options.length <= 1) selects[level].disabled = true;
    });

    // -- pin map ---------------------------------------------------------------

    var mapElement = container.querySelector("[data-pin-map]");
    var config = window.DizhiMap.readJSON("map-config", { tiles: "none" });
    var map = window.DizhiMap.create(mapElement, config);
    var start = lat.value && lng.value ? [parseFloat(lat.value), parseFloat(lng.value)] : null;
    var marker = L.marker(start || [35.0, 105.0], {
      draggable: true,
      autoPan: true,
      title: mapElement.getAttribute("aria-label"),
      alt: mapElement.getAttribute("aria-label"),
    }).addTo(map);
    map.setView(start || [35.0, 105.0], start ? 15 : 3);

    var coords = container.querySelector("[data-pin-coords]");
    function showCoords(point) {
      coords.textContent = point ? point.lat.toFixed(6) + ", " + point.lng.toFixed(6) : "";
    }

    function showPinState() {
      var moved = !!pinMoved.value;
      status.textContent = moved ? status.dataset.textMoved : status.dataset.textIdle;
      status.classList.toggle("text-success", moved);
      resetButton.classList.toggle("d-none", !moved);
      mapElement.dataset.pinMoved = moved ? "1" : "";
    }

    marker.on("dragend", function () {
      var p = marker.getLatLng();
      lat.value = p.lat.toFixed(6);
      lng.value = p.lng.toFixed(6);
      pinMoved.value = "1";
      showCoords(p);
      showPinState();
    });

    resetButton.addEventListener("click", function () {
      pinMoved.value = "";
      lat.value = original.lat;
      lng.value = original.lng;
      if (original.lat && original.lng) {
        marker.setLatLng([parseFloat(original.lat), parseFloat(original.lng)]);
        showCoords(marker.getLatLng());
      } else {
        followRegion();
      }
      showPinState();
    });

    function placePin(point, zoom) {
      if (pinMoved.value || !point) return; // never move a pin the user placed by hand
      marker.setLatLng(point);
      map.setView(point, zoom);
      showCoords(marker.getLatLng());
    }

    function followRegion() {
      var deepest = deepestCode();
      if (deepest && centroids[deepest.code]) placePin(centroids[deepest.code], ZOOM[deepest.level]);
    }

    if (pinMoved.value) showPinState();
    // The map may be laid out after a tab or collapse opens; keep tiles aligned.
    setTimeout(function () { map.invalidateSize(); }, 0);

    // -- paste box -------------------------------------------------------------

    var preview = document.getElementById(field("raw_text").id + "-preview");
    preview.addEventListener("htmx:afterSwap", function () {
      var data = preview.querySelector('script[type="application/json"]');
      if (!data) return;
      var parsed = JSON.parse(data.textContent);
      setChain(parsed).then(function () {
        field("detail").value = parsed.detail || "";
        if (parsed.postcode) field("postcode").value = parsed.postcode;
        if (parsed.lat != null) placePin([parsed.lat, parsed.lng], parsed.zoom);
        container.dataset.parsed = "1";
        container.dispatchEvent(new CustomEvent("address:filled", { bubbles: true }));
      });
    });
    preview.addEventListener("click", function (event) {
      var button = event.target.closest("[data-pick-code]");
      if (!button) return;
      setChain(JSON.parse(button.dataset.chain)).then(followRegion);
      button.parentElement.querySelectorAll("[data-pick-code]").forEach(function (b) {
        b.classList.toggle("active", b === button);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-address-form]").forEach(init);
  });
})();
