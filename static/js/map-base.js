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

  function joinUrl(base, name) {
    return base.replace(/\/+$/, "") + "/" + name;
  }

  // One fetch per page for each outline file, however many maps ask: [{name, data}, ...].
  var loaded = {};
  function loadOutlines(baseUrl) {
    if (!loaded[baseUrl]) {
      loaded[baseUrl] = Promise.all(OUTLINE_FILES.map(function (name) {
        return fetch(joinUrl(baseUrl, name), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : null; })
          .then(function (data) { return { name: name, data: data }; })
          .catch(function () { return { name: name, data: null }; });
      }));
    }
    return loaded[baseUrl];
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

  window.DizhiMapBase = { tileLayer: tileLayer, addOutlines: addOutlines, outline: outline };
})();
