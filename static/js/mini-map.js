/* Small Leaflet maps: the customer page's address map and the address form's pin map.
 *
 * The tile source follows settings.MAP_TILES (given in the #map-config JSON):
 * "osm" and "amap" add tiles; "none" (no tile server reachable) draws a plain
 * background with a light graticule so points still have a sense of place.
 * Points arrive already converted to the datum of the tiles (GCJ-02 for AMap).
 */
(function () {
  "use strict";

  var Graticule = L.GridLayer.extend({
    createTile: function (coords) {
      var tile = document.createElement("canvas");
      var size = this.getTileSize();
      tile.width = size.x;
      tile.height = size.y;
      var ctx = tile.getContext("2d");
      ctx.fillStyle = "#dfe9f1";
      ctx.fillRect(0, 0, size.x, size.y);
      ctx.strokeStyle = "rgba(90, 110, 130, 0.12)";
      ctx.lineWidth = 1;
      ctx.strokeRect(0.5, 0.5, size.x, size.y);
      return tile;
    },
  });

  function baseLayer(config) {
    if (config.tiles === "osm") {
      return L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
        maxZoom: 19,
        attribution: '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>',
      });
    }
    if (config.tiles === "amap") {
      return L.tileLayer(
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        { subdomains: "1234", maxZoom: 18, attribution: "&copy; AMap" }
      );
    }
    return new Graticule({ maxZoom: 19 });
  }

  // Country and province outlines shipped in static/geo (WGS-84), for orientation when no tiles;
  // `urls` is {file name: URL} from geo.presentation.outline_urls.
  var outlineData = null;

  function loadOutlines(urls) {
    if (!outlineData) {
      outlineData = Promise.all(Object.keys(urls).map(function (name) {
        return fetch(urls[name], { credentials: "same-origin" }).then(function (r) {
          return r.ok ? r.json() : null;
        });
      })).catch(function () { return []; });
    }
    return outlineData;
  }

  function addOutlines(map, url) {
    map.createPane("outlines").style.zIndex = 250;
    loadOutlines(url).then(function (layers) {
      layers.forEach(function (data) {
        if (!data) return;
        L.geoJSON(data, {
          pane: "outlines",
          interactive: false,
          style: { color: "#8a99a8", weight: 1, fillColor: "#fbfbf8", fillOpacity: 1 },
        }).addTo(map);
      });
    });
  }

  function readJSON(id, fallback) {
    var el = document.getElementById(id);
    if (!el) return fallback;
    try {
      return JSON.parse(el.textContent);
    } catch (e) {
      return fallback;
    }
  }

  // Leaflet's zoom and popup-close texts are English: use the page's language.
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
  function noTilesHint(map, text) {
    var hint = L.control({ position: "bottomleft" });
    hint.onAdd = function () {
      var div = L.DomUtil.create("div", "dz-map-hint");
      div.textContent = text;
      return div;
    };
    hint.addTo(map);
  }

  function create(element, config) {
    var labels = config.labels || {};
    var map = L.map(element, { zoomControl: false, attributionControl: config.tiles !== "none", scrollWheelZoom: false });
    localise(map, labels);
    baseLayer(config).addTo(map);
    if (config.tiles === "none" && config.outlines) addOutlines(map, config.outlines);
    if (config.tiles === "none" && labels.noTiles) noTilesHint(map, labels.noTiles);
    L.control.scale({ imperial: false }).addTo(map);
    map.setView([35.0, 105.0], 3);
    return map;
  }

  function dotIcon(colour, primary) {
    var size = primary ? 18 : 14;
    return L.divIcon({
      className: "",
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
      html:
        '<span style="display:block;width:' + size + "px;height:" + size + "px;border-radius:50%;background:" +
        (colour || "#0d6efd") + ';border:2px solid #fff;box-shadow:0 0 0 1px rgba(0,0,0,.35)"></span>',
    });
  }

  function escapeText(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function showPoints(map, points) {
    var bounds = [];
    points.forEach(function (p) {
      var marker = L.marker([p.lat, p.lng], { icon: dotIcon(p.colour, p.primary), title: p.label, alt: p.label });
      marker.bindTooltip(escapeText(p.kind), { permanent: true, direction: "right", offset: [8, 0], className: "mini-map-label" });
      marker.bindPopup(
        "<strong>" + escapeText(p.kind) + "</strong><br>" + escapeText(p.label) +
        '<br><small class="text-body-secondary">' + escapeText(p.precision) + "</small>"
      );
      marker.on("click", function () {
        var card = document.getElementById("address-" + p.id);
        if (card) {
          card.classList.add("border-primary");
          setTimeout(function () { card.classList.remove("border-primary"); }, 1500);
        }
      });
      marker.addTo(map);
      bounds.push([p.lat, p.lng]);
    });
    if (bounds.length === 1) {
      map.setView(bounds[0], 13);
    } else if (bounds.length > 1) {
      map.fitBounds(bounds, { padding: [36, 36], maxZoom: 14 });
    }
  }

  window.DizhiMap = { create: create, localise: localise, noTilesHint: noTilesHint, showPoints: showPoints, readJSON: readJSON };

  document.addEventListener("DOMContentLoaded", function () {
    var element = document.getElementById("customer-map");
    if (!element) return;
    var map = create(element, readJSON("map-config", { tiles: "none" }));
    showPoints(map, readJSON("map-points", []));
    element.dataset.ready = "1";
  });
})();
