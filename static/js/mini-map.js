/* Small Leaflet maps: the customer page's address map and the address form's pin map.
 *
 * Tiles and outlines come from map-base.js (window.DizhiMapBase); with tiles "none" the
 * map draws a plain background with a light graticule under the offline outlines.
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
    return window.DizhiMapBase.tileLayer(config) || new Graticule({ maxZoom: 19 });
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

  function create(element, config) {
    var map = L.map(element, { zoomControl: true, attributionControl: config.tiles !== "none", scrollWheelZoom: false });
    baseLayer(config).addTo(map);
    if (config.tiles === "none" && config.outlines) window.DizhiMapBase.addOutlines(map, map, config.outlines);
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

  window.DizhiMap = { create: create, showPoints: showPoints, readJSON: readJSON };

  document.addEventListener("DOMContentLoaded", function () {
    var element = document.getElementById("customer-map");
    if (!element) return;
    var map = create(element, readJSON("map-config", { tiles: "none" }));
    showPoints(map, readJSON("map-points", []));
    element.dataset.ready = "1";
  });
})();
