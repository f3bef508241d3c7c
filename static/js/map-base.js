/* What every Dizhi map shares: the tile source and the offline outlines.
 *
 * The tile source follows settings.MAP_TILES (the page's map config JSON): "osm" and "amap"
 * give a tile layer; "none" (no tile server reachable) gives none, and the map draws the
 * country and province outlines shipped in static/geo (WGS-84) so points keep a sense of place.
 * Used by map.js (the customer map) and mini-map.js (customer page, address form).
 */
(function () {
  "use strict";

  var OUTLINE_FILES = ["world-countries.geojson", "china-provinces.geojson"];
  var OUTLINE_STYLES = {
    "world-countries.geojson": { color: "#94a3b8", weight: 1, fillColor: "#f8fafc", fillOpacity: 1 },
    "china-provinces.geojson": { color: "#64748b", weight: 1, fillColor: "#ffffff", fillOpacity: 1 },
  };

  // null when the tiles are "none"; AMap tiles are GCJ-02 (points must arrive in that datum).
  function tileLayer(config) {
    if (config.tiles === "osm") {
      return L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
        maxZoom: 19,
        attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
      });
    }
    if (config.tiles === "amap") {
      return L.tileLayer(
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        { subdomains: "1234", maxZoom: 18, attribution: "&copy; AutoNavi (高德地图)" }
      );
    }
    return null;
  }

  // `urls` is {file name: URL} (geo.presentation.outline_urls: content-hashed names in
  // production) or a folder URL.
  function urlOf(urls, name) {
    return typeof urls === "string" ? urls.replace(/\/+$/, "") + "/" + name : urls[name];
  }

  // One fetch per page for each outline file, however many maps ask: [{name, data}, ...].
  var loaded = {};
  function loadOutlines(baseUrl) {
    var key = JSON.stringify(baseUrl);
    if (!loaded[key]) {
      loaded[key] = Promise.all(OUTLINE_FILES.map(function (name) {
        return fetch(urlOf(baseUrl, name), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { return { name: name, data: data }; })
          .catch(function () { return { name: name, data: null }; });
      }));
    }
    return loaded[key];
  }

  // Adds the outlines to `target` (a map or a layer group) in the map's "outlines" pane.
  // options.toLatLng(lat, lng) converts to the display datum; options.onLoaded(featureCount).
  function addOutlines(map, target, baseUrl, options) {
    options = options || {};
    if (!map.getPane("outlines")) { map.createPane("outlines").style.zIndex = 250; }
    return loadOutlines(baseUrl).then(function (files) {
      files.forEach(function (file) {
        if (!file.data) { return; }
        var layerOptions = { pane: "outlines", interactive: false, style: OUTLINE_STYLES[file.name] };
        if (options.toLatLng) {
          layerOptions.coordsToLatLng = function (c) { return options.toLatLng(c[1], c[0]); };
        }
        target.addLayer(L.geoJSON(file.data, layerOptions));
        if (options.onLoaded) { options.onLoaded(file.data.features.length); }
      });
    });
  }

  // The GeoJSON of one outline file (null when it could not be fetched).
  function outline(baseUrl, name) {
    return loadOutlines(baseUrl).then(function (files) {
      var found = files.filter(function (f) { return f.name === name; })[0];
      return found ? found.data : null;
    });
  }

  // Leaflet's zoom and popup-close texts are English: use the page's language
  // (labels: zoomIn, zoomOut, closePopup). Create the map with zoomControl: false.
  function localise(map, labels) {
    L.control.zoom({ zoomInTitle: labels.zoomIn || "Zoom in", zoomOutTitle: labels.zoomOut || "Zoom out" }).addTo(map);
    map.on("popupopen", function (e) {
      var close = e.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close && labels.closePopup) {
        close.setAttribute("aria-label", labels.closePopup);
        close.title = labels.closePopup;
      }
    });
  }

  // Without tiles a zoomed-in map is dots on a plain ground: say why, in the map's corner.
  function noTilesHint(text, id) {
    var hint = L.control({ position: "bottomleft" });
    hint.onAdd = function () {
      var div = L.DomUtil.create("div", "dz-map-hint");
      if (id) { div.id = id; }
      div.textContent = text;
      return div;
    };
    return hint;
  }

  window.DizhiMapBase = {
    tileLayer: tileLayer, addOutlines: addOutlines, outline: outline, localise: localise, noTilesHint: noTilesHint,
  };
})();
