/* The customer map: server-side clusters, heat map, region shading, offline outlines,
 * nearby customers, drawn selections and visit routes.
 *
 * Every piece of user data (names, addresses, categories) reaches the page through
 * textContent / DOM nodes, never innerHTML. Coordinates from the server are WGS-84;
 * with AMap tiles they are shifted to GCJ-02 for display only (toDisplay/fromDisplay).
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("dz-map-config").textContent);
  var T = {};
  document.getElementById("dz-i18n").content.querySelectorAll("[data-k]").forEach(function (el) {
    T[el.dataset.k] = el.textContent;
  });
  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, k) { return values[k]; });
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "className") { node.className = attrs[k]; }
      else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }
  function csrf() {
    var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) { return decodeURIComponent(m[1]); }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  var numberFmt = new Intl.NumberFormat(document.documentElement.lang || undefined);

  // --- datum for display ----------------------------------------------------------------
  var AMAP = config.tiles === "amap";
  function outOfChina(lat, lng) { return !(lng > 73.66 && lng < 135.05 && lat > 3.86 && lat < 53.55); }
  function gcjDelta(lat, lng) {
    var a = 6378245.0, ee = 0.00669342162296594323, PI = Math.PI;
    var x = lng - 105.0, y = lat - 35.0;
    var dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dLat += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    dLat += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    dLat += (160.0 * Math.sin(y / 12.0 * PI) + 320 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    var dLng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    dLng += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    dLng += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    dLng += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    var radLat = lat / 180.0 * PI, magic = 1 - ee * Math.sin(radLat) * Math.sin(radLat), sq = Math.sqrt(magic);
    return [(dLat * 180.0) / ((a * (1 - ee)) / (magic * sq) * PI), (dLng * 180.0) / (a / sq * Math.cos(radLat) * PI)];
  }
  function toDisplay(lat, lng) {
    if (!AMAP || outOfChina(lat, lng)) { return L.latLng(lat, lng); }
    var d = gcjDelta(lat, lng);
    return L.latLng(lat + d[0], lng + d[1]);
  }
  function fromDisplay(latlng) {
    var lat = latlng.lat, lng = latlng.lng;
    if (!AMAP || outOfChina(lat, lng)) { return [lat, lng]; }
    var w = [lat, lng];
    for (var i = 0; i < 5; i++) {
      var d = gcjDelta(w[0], w[1]);
      w = [lat - d[0], lng - d[1]];
    }
    return w;
  }

  // --- map and base layers ------------------------------------------------------------
  var map = L.map("dz-map", { zoomControl: false, minZoom: 2, maxZoom: 18, worldCopyJump: false, preferCanvas: true });
  map.createPane("regions").style.zIndex = 350;
  var statusBox = document.getElementById("dz-map-status");
  var outlines = L.layerGroup();
  var outlinesLoaded = false;
  var outlinesToggle = document.getElementById("dz-layer-outlines");

  function loadOutlines() {
    if (outlinesLoaded) { return Promise.resolve(); }
    outlinesLoaded = true;
    var box = document.getElementById("dz-map");
    return window.DizhiMapBase.addOutlines(map, outlines, config.urls.outlines, {
      toLatLng: toDisplay,
      onLoaded: function (count) { box.dataset.outlines = String(Number(box.dataset.outlines || 0) + count); },
    });
  }
  function showOutlines(on) {
    outlinesToggle.checked = on;
    if (on) { loadOutlines(); outlines.addTo(map); } else { map.removeLayer(outlines); }
    document.getElementById("dz-map").classList.toggle("dz-offline", on && !tiles);
  }

  var tiles = window.DizhiMapBase.tileLayer(config);
  if (tiles) {
    var tileErrors = 0;
    tiles.on("tileerror", function () {
      tileErrors += 1;
      if (tileErrors === 4) {
        showOutlines(true);
        statusBox.title = T.offline;
      }
    });
    tiles.addTo(map);
  } else {
    showOutlines(true);
  }
  outlinesToggle.addEventListener("change", function () { showOutlines(outlinesToggle.checked); });

  // Leaflet's control texts in the page's language; without tiles, say why a zoomed-in map is bare.
  window.DizhiMapBase.localise(map, { zoomIn: T.zoomIn, zoomOut: T.zoomOut, closePopup: T.closePopup });
  if (!tiles) {
    var hint = window.DizhiMapBase.noTilesHint(T.noTiles, "dz-no-tiles-hint");
    var toggleHint = function () {
      if (map.getZoom() >= 7) { hint.addTo(map); } else { hint.remove(); }
    };
    map.on("zoomend", toggleHint);
    map.whenReady(toggleHint);
  }

  // --- filters ------------------------------------------------------------------------
  var form = document.getElementById("dz-map-filter");
  function filterQuery() {
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) { params.delete(k); } });
    // Empty values make the FilterSet no different; drop them so links stay tidy.
    var clean = new URLSearchParams();
    params.forEach(function (v, k) { if (v) { clean.append(k, v); } });
    return clean;
  }
  function syncUrl() {
    var q = filterQuery();
    var page = new URLSearchParams(window.location.search);
    ["near", "radius"].forEach(function (k) { if (page.get(k)) { q.set(k, page.get(k)); } });
    var c = map.getCenter();
    q.set("at", [map.getZoom(), c.lat.toFixed(4), c.lng.toFixed(4)].join(","));
    history.replaceState(null, "", "/map/?" + q.toString());
    var listQuery = filterQuery().toString();
    document.getElementById("dz-to-list").href = config.urls.customers + (listQuery ? "?" + listQuery : "");
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
  form.addEventListener("change", function (e) {
    if (e.target.closest("[data-region-picker]") && e.target.tagName === "SELECT") { return; }  // the hidden input fires
    refresh();
  });

  // --- clusters and points --------------------------------------------------------------
  var bubbleLayer = L.layerGroup(), pointLayer = L.layerGroup(), pointMarkers = {};
  var clusterLayer = L.layerGroup([bubbleLayer, pointLayer]).addTo(map);
  var heatLayer = null;
  var regionLayer = L.layerGroup();
  var provinceShapes = null;
  var controllers = {};

  function fetchJson(kind, url) {
    if (controllers[kind]) { controllers[kind].abort(); }
    var c = new AbortController();
    controllers[kind] = c;
    return fetch(url, { signal: c.signal, headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }
  function viewportQuery(extra) {
    var b = map.getBounds();
    var sw = fromDisplay(b.getSouthWest()), ne = fromDisplay(b.getNorthEast());
    var q = filterQuery();
    q.set("bbox", [sw[1], sw[0], ne[1], ne[0]].map(function (v) { return v.toFixed(5); }).join(","));
    q.set("zoom", String(map.getZoom()));
    Object.keys(extra || {}).forEach(function (k) { q.set(k, extra[k]); });
    return q.toString();
  }
  function categoryColour(ids) {
    for (var i = 0; i < (ids || []).length; i++) {
      var c = config.categories[String(ids[i])];
      if (c) { return c.colour; }
    }
    return "#475569";
  }
  function popupFor(p) {
    var cats = el("div", { className: "dz-popup-cats" });
    (p.categories || []).forEach(function (id) {
      var c = config.categories[String(id)];
      if (!c) { return; }
      var chip = el("span", { className: "dz-chip" }, [el("span", { className: "dz-dot" }), document.createTextNode(c.name)]);
      chip.firstChild.style.backgroundColor = c.colour;
      cats.appendChild(chip);
    });
    var actions = el("div", { className: "dz-popup-actions" }, [
      el("a", { href: "/customers/" + encodeURIComponent(p.customer) + "/", text: T.open }),
      el("button", { type: "button", className: "btn btn-link btn-sm p-0", "data-nearby": p.customer, text: T.nearbyOf }),
      el("button", { type: "button", className: "btn btn-link btn-sm p-0", "data-add-stop": p.id, text: T.addStop }),
    ]);
    actions.querySelector("[data-nearby]").addEventListener("click", function () {
      map.closePopup(); loadNearby({ near: p.customer });
    });
    actions.querySelector("[data-add-stop]").addEventListener("click", function () { addStops([p]); showTab("route"); });
    return el("div", { className: "dz-popup" }, [
      el("strong", { className: "dz-popup-name", text: p.name }),
      el("div", { className: "dz-popup-address", text: p.address }),
      cats, actions,
    ]);
  }
  function pointMarker(p, opts) {
    var m = L.circleMarker(toDisplay(p.lat, p.lng), Object.assign({
      radius: 7, weight: 2, color: "#ffffff", fillColor: categoryColour(p.categories), fillOpacity: 0.95,
    }, opts || {}));
    m.bindPopup(function () { return popupFor(p); }, { maxWidth: 280 });
    m.bindTooltip(function () { return el("span", { text: p.name }); }, { direction: "top", offset: [0, -6] });
    return m;
  }
  function clusterMarker(c) {
    var n = c[2];
    var size = n < 10 ? 28 : n < 100 ? 34 : n < 1000 ? 40 : n < 10000 ? 48 : 56;
    var label = el("span", { text: n >= 10000 ? Math.round(n / 1000) + "k" : numberFmt.format(n) });
    var box = el("div", { className: "dz-cluster dz-cluster-" + (n < 10 ? "s" : n < 1000 ? "m" : "l") }, [label]);
    box.style.width = box.style.height = size + "px";
    var marker = L.marker(toDisplay(c[0], c[1]), {
      icon: L.divIcon({ html: box, className: "dz-cluster-icon", iconSize: [size, size] }),
      title: numberFmt.format(n) + " " + T.customers, keyboard: true, riseOnHover: true,
    });
    marker.on("click", function () {
      map.setView(marker.getLatLng(), Math.min(map.getZoom() + 2, map.getMaxZoom()));
    });
    return marker;
  }
  function setStatus(state, text) {
    statusBox.dataset.state = state;
    statusBox.textContent = text;
  }
  function loadClusters() {
    if (!map.hasLayer(clusterLayer)) { return Promise.resolve(); }
    setStatus("loading", T.loading);
    return fetchJson("clusters", config.urls.clusters + "?" + viewportQuery()).then(function (data) {
      bubbleLayer.clearLayers();
      data.clusters.forEach(function (c) { bubbleLayer.addLayer(clusterMarker(c)); });
      // Keep markers that stay in view, so an open popup survives the reload its autopan causes.
      var keep = {};
      data.points.forEach(function (p) {
        keep[p.id] = true;
        if (!pointMarkers[p.id]) { pointMarkers[p.id] = pointMarker(p); pointLayer.addLayer(pointMarkers[p.id]); }
      });
      Object.keys(pointMarkers).forEach(function (id) {
        if (!keep[id]) { pointLayer.removeLayer(pointMarkers[id]); delete pointMarkers[id]; }
      });
      statusBox.dataset.total = String(data.total);
      statusBox.dataset.clusters = String(data.clusters.length);
      statusBox.dataset.points = String(data.points.length);
      setStatus("ready", numberFmt.format(data.total) + " " + T.addresses);
    }).catch(function (err) {
      if (err.name !== "AbortError") { setStatus("error", T.failed); }
    });
  }

  // --- heat map -------------------------------------------------------------------------
  function loadHeat() {
    if (!document.getElementById("dz-layer-heat").checked) { return; }
    fetchJson("heat", config.urls.clusters + "?" + viewportQuery({ layer: "heat" })).then(function (data) {
      var max = data.max || 1;
      var pts = data.cells.map(function (c) {
        var ll = toDisplay(c[0], c[1]);
        return [ll.lat, ll.lng, Math.sqrt(c[2] / max)];
      });
      if (!heatLayer) {
        heatLayer = L.heatLayer(pts, { radius: 22, blur: 18, maxZoom: 12, max: 1, minOpacity: 0.25 });
      } else {
        heatLayer.setLatLngs(pts);
      }
      if (!map.hasLayer(heatLayer)) { heatLayer.addTo(map); }
      document.getElementById("dz-map").dataset.heat = String(pts.length);
    }).catch(function () {});
  }

  // --- region shading -------------------------------------------------------------------
  var PALETTE = ["#eff6ff", "#bfdbfe", "#60a5fa", "#2563eb", "#1e3a8a"];
  function classBreaks(max) {
    // Geometric classes suit the skew of customer counts (a few cities hold most).
    var breaks = [];
    for (var i = 1; i <= PALETTE.length; i++) { breaks.push(Math.max(1, Math.round(Math.pow(max, i / PALETTE.length)))); }
    return breaks;
  }
  function colourFor(n, breaks) {
    for (var i = 0; i < breaks.length; i++) { if (n <= breaks[i]) { return PALETTE[i]; } }
    return PALETTE[PALETTE.length - 1];
  }
  function renderLegend(level, breaks) {
    var legend = document.getElementById("dz-legend");
    legend.replaceChildren();
    legend.appendChild(el("div", { className: "fw-semibold small mb-1", text: fmt(T.legend, { level: T[level] || level }) }));
    var lo = 1;
    breaks.forEach(function (b, i) {
      if (b < lo) { return; }
      var swatch = el("span", { className: "dz-swatch" });
      swatch.style.backgroundColor = PALETTE[i];
      legend.appendChild(el("div", { className: "dz-legend-row" }, [swatch,
        el("span", { text: lo === b ? numberFmt.format(b) : numberFmt.format(lo) + "–" + numberFmt.format(b) })]));
      lo = b + 1;
    });
    legend.classList.remove("d-none");
  }
  function loadProvinceShapes() {
    if (provinceShapes) { return Promise.resolve(provinceShapes); }
    return window.DizhiMapBase.outline(config.urls.outlines, "china-provinces.geojson")
      .then(function (data) { provinceShapes = data; return data; });
  }
  function loadRegions() {
    if (!document.getElementById("dz-layer-regions").checked) { return; }
    fetchJson("regions", config.urls.clusters + "?" + viewportQuery({ layer: "regions" })).then(function (data) {
      var breaks = classBreaks(data.max || 1);
      var byCode = {};
      data.regions.forEach(function (r) { byCode[r[0]] = r; });
      var draw = function (shapes) {
        regionLayer.clearLayers();
        var drawnCodes = {};
        if (data.level === "province" && shapes) {
          regionLayer.addLayer(L.geoJSON(shapes, {
            pane: "regions",
            coordsToLatLng: function (c) { return toDisplay(c[1], c[0]); },
            style: function (f) {
              var r = byCode[f.properties.code];
              return { color: "#ffffff", weight: 1, fillOpacity: r ? 0.75 : 0.15, fillColor: r ? colourFor(r[4], breaks) : "#e5e7eb" };
            },
            onEachFeature: function (f, layer) {
              var r = byCode[f.properties.code];
              drawnCodes[f.properties.code] = true;
              layer.bindTooltip(function () {
                return el("span", { text: (r ? r[1] : f.properties.name) + ": " + numberFmt.format(r ? r[4] : 0) });
              }, { sticky: true });
            },
          }));
        }
        data.regions.forEach(function (r) {
          if (drawnCodes[r[0]]) { return; }
          var circle = L.circleMarker(toDisplay(r[2], r[3]), {
            pane: "regions", radius: data.level === "district" ? 9 : data.level === "city" ? 11 : 13,
            weight: 1, color: "#1e3a8a", fillColor: colourFor(r[4], breaks), fillOpacity: 0.85,
          });
          circle.bindTooltip(function () { return el("span", { text: r[1] + ": " + numberFmt.format(r[4]) }); });
          regionLayer.addLayer(circle);
        });
        if (!map.hasLayer(regionLayer)) { regionLayer.addTo(map); }
        document.getElementById("dz-map").dataset.regions = data.level + ":" + data.regions.length;
        renderLegend(data.level, breaks);
      };
      if (data.level === "province") { loadProvinceShapes().then(draw); } else { draw(null); }
    }).catch(function () {});
  }

  // --- layer switches -------------------------------------------------------------------
  document.getElementById("dz-layer-clusters").addEventListener("change", function (e) {
    if (e.target.checked) { clusterLayer.addTo(map); loadClusters(); } else { map.removeLayer(clusterLayer); }
  });
  document.getElementById("dz-layer-heat").addEventListener("change", function (e) {
    if (e.target.checked) { loadHeat(); } else if (heatLayer) { map.removeLayer(heatLayer); delete document.getElementById("dz-map").dataset.heat; }
  });
  document.getElementById("dz-layer-regions").addEventListener("change", function (e) {
    if (e.target.checked) { loadRegions(); } else {
      map.removeLayer(regionLayer);
      document.getElementById("dz-legend").classList.add("d-none");
      delete document.getElementById("dz-map").dataset.regions;
    }
  });

  var timer = null;
  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(function () { syncUrl(); loadClusters(); loadHeat(); loadRegions(); }, 120);
  }
  map.on("moveend", refresh);

  // --- tabs -----------------------------------------------------------------------------
  function showTab(name) {
    var button = document.getElementById("dz-tab-" + name);
    if (window.bootstrap) { window.bootstrap.Tab.getOrCreateInstance(button).show(); }
  }

  // --- nearby ---------------------------------------------------------------------------
  var nearbyLayer = L.layerGroup().addTo(map);
  var nearbyResults = [];
  var nearbyOrigin = null;
  var picking = null;
  function loadNearby(origin) {
    var q = filterQuery();
    q.set("radius", document.getElementById("dz-radius").value || "5");
    if (origin.near) { q.set("near", origin.near); } else { q.set("lat", origin.lat.toFixed(6)); q.set("lng", origin.lng.toFixed(6)); }
    var url = config.urls.nearby + "?" + q.toString();
    showTab("nearby");
    return fetchJson("nearby", url).then(function (data) {
      nearbyResults = data.results;
      nearbyOrigin = data.origin;
      nearbyLayer.clearLayers();
      var centre = toDisplay(data.origin.lat, data.origin.lng);
      var ring = L.circle(centre, { radius: data.radius * 1000, color: "#0d6efd", weight: 1, fillOpacity: 0.05, interactive: false }).addTo(nearbyLayer);
      L.circleMarker(centre, { radius: 6, color: "#0d6efd", fillColor: "#0d6efd", fillOpacity: 1 })
        .bindTooltip(function () { return el("span", { text: data.origin.label }); }).addTo(nearbyLayer);
      var list = document.getElementById("dz-nearby-list");
      list.replaceChildren();
      data.results.forEach(function (p) {
        nearbyLayer.addLayer(pointMarker(p, { color: "#0d6efd" }));
        var item = el("li", { className: "list-group-item list-group-item-action dz-result", "data-km": String(p.km), tabindex: "0" }, [
          el("div", { className: "d-flex justify-content-between gap-2" }, [
            el("span", { className: "dz-result-name", text: p.name }),
            el("span", { className: "badge text-bg-light dz-km", text: p.km.toFixed(p.km < 10 ? 2 : 1) + " km" }),
          ]),
          el("div", { className: "text-body-secondary dz-result-address", text: p.address }),
        ]);
        item.addEventListener("click", function () { map.setView(toDisplay(p.lat, p.lng), Math.max(map.getZoom(), 15)); });
        list.appendChild(item);
      });
      var summary = fmt(T.within, { count: numberFmt.format(data.count), radius: data.radius });
      if (data.truncated) { summary += " " + fmt(T.truncated, { count: data.results.length }); }
      document.getElementById("dz-nearby-summary").textContent = data.origin.label + " · " + summary;
      document.getElementById("dz-nearby-route").classList.toggle("d-none", !data.results.length);
      var json = document.getElementById("dz-nearby-json");
      json.href = url;
      json.classList.remove("d-none");
      map.fitBounds(ring.getBounds(), { maxZoom: 15 });
    }).catch(function () {});
  }
  document.getElementById("dz-nearby-pick").addEventListener("click", function () {
    picking = "nearby";
    setStatus("picking", T.pickPoint);
    document.getElementById("dz-map").classList.add("dz-picking");
  });
  document.getElementById("dz-radius").addEventListener("change", function () {
    if (nearbyOrigin) { loadNearby(nearbyOrigin.customer ? { near: nearbyOrigin.customer } : nearbyOrigin); }
  });
  document.getElementById("dz-nearby-route").addEventListener("click", function () {
    if (nearbyOrigin) { setStart(nearbyOrigin.lat, nearbyOrigin.lng); }
    addStops(nearbyResults); showTab("route");
  });

  // --- drawn selection ------------------------------------------------------------------
  var drawn = new L.FeatureGroup().addTo(map);
  var selectionResults = [];
  map.addControl(new L.Control.Draw({
    position: "topleft",
    draw: { polyline: false, circle: false, marker: false, circlemarker: false,
            rectangle: { shapeOptions: { color: "#7c3aed", weight: 2 } },
            polygon: { allowIntersection: false, showArea: false, shapeOptions: { color: "#7c3aed", weight: 2 } } },
    edit: false,
  }));
  map.on(L.Draw.Event.CREATED, function (e) {
    drawn.clearLayers();
    drawn.addLayer(e.layer);
    var ring = e.layer.getLatLngs()[0].map(function (ll) { return fromDisplay(ll); });
    selectPolygon(ring);
  });
  function selectPolygon(ring) {
    showTab("selection");
    return fetch(config.urls.select + "?" + filterQuery().toString(), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ polygon: ring }),
    }).then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); }).then(function (data) {
      selectionResults = data.results;
      var list = document.getElementById("dz-selection-list");
      list.replaceChildren();
      data.results.forEach(function (p) {
        var item = el("li", { className: "list-group-item dz-result", "data-customer": String(p.customer) }, [
          el("div", { className: "dz-result-name", text: p.name }),
          el("div", { className: "text-body-secondary dz-result-address", text: p.address }),
        ]);
        item.addEventListener("click", function () { map.setView(toDisplay(p.lat, p.lng), Math.max(map.getZoom(), 15)); });
        list.appendChild(item);
      });
      var text = fmt(T.selected, { count: numberFmt.format(data.count), customers: numberFmt.format(data.customers.length) });
      if (data.truncated) { text += " " + fmt(T.truncated, { count: data.results.length }); }
      var summary = document.getElementById("dz-selection-summary");
      summary.textContent = text;
      summary.dataset.count = String(data.count);
      document.getElementById("dz-selection-ids").value = data.customers.join(",");
      document.getElementById("dz-selection-export").href = config.urls.export + "?ids=" + data.customers.join(",");
      document.getElementById("dz-selection-bulk").classList.toggle("d-none", !data.customers.length);
    });
  }
  document.getElementById("dz-selection-clear").addEventListener("click", function () {
    drawn.clearLayers();
    selectionResults = [];
    document.getElementById("dz-selection-list").replaceChildren();
    document.getElementById("dz-selection-bulk").classList.add("d-none");
    document.getElementById("dz-selection-summary").textContent = "";
  });
  document.getElementById("dz-selection-route").addEventListener("click", function () {
    addStops(selectionResults); showTab("route");
  });

  // --- visit route ----------------------------------------------------------------------
  var route = { start: null, stops: [], first: null, last: null, solved: null };
  var routeLayer = L.layerGroup().addTo(map);
  var startMarker = null;
  function setStart(lat, lng) {
    route.start = [lat, lng];
    if (startMarker) { routeLayer.removeLayer(startMarker); }
    var icon = L.divIcon({ html: el("div", { className: "dz-stop dz-stop-start", text: "S" }), className: "dz-stop-icon", iconSize: [26, 26] });
    startMarker = L.marker(toDisplay(lat, lng), { icon: icon, draggable: true, title: T.start }).addTo(routeLayer);
    startMarker.on("dragend", function () { var w = fromDisplay(startMarker.getLatLng()); route.start = w; solveRoute(false); });
    document.getElementById("dz-route-start-label").textContent = fmt(T.startAt, { lat: lat.toFixed(5), lng: lng.toFixed(5) });
    renderRoute();
  }
  function addStops(points) {
    var have = {};
    route.stops.forEach(function (s) { have[s.id] = true; });
    points.forEach(function (p) {
      if (!have[p.id] && route.stops.length < config.maxStops) {
        route.stops.push({ id: p.id, customer: p.customer, name: p.name, address: p.address, lat: p.lat, lng: p.lng });
        have[p.id] = true;
      }
    });
    if (points.length + route.stops.length > config.maxStops) {
      document.getElementById("dz-route-help").textContent = fmt(T.tooMany, { max: config.maxStops });
    }
    if (!route.start && route.stops.length) { setStart(route.stops[0].lat, route.stops[0].lng); }
    route.solved = null;
    renderRoute();
  }
  function durationText(seconds) {
    var m = Math.round(seconds / 60);
    return m >= 60 ? fmt(T.hours, { h: Math.floor(m / 60), m: m % 60 }) : fmt(T.minutes, { m: m });
  }
  function renderRoute() {
    routeLayer.clearLayers();
    if (startMarker) { routeLayer.addLayer(startMarker); }
    var list = document.getElementById("dz-route-list");
    list.replaceChildren();
    var solvedById = {};
    if (route.solved) { route.solved.stops.forEach(function (s) { solvedById[s.id] = s; }); }
    var line = route.start ? [toDisplay(route.start[0], route.start[1])] : [];
    route.stops.forEach(function (s, i) {
      var ll = toDisplay(s.lat, s.lng);
      line.push(ll);
      var numberBox = el("div", { className: "dz-stop" + (s.id === route.first ? " dz-stop-first" : s.id === route.last ? " dz-stop-last" : ""), text: String(i + 1) });
      L.marker(ll, { icon: L.divIcon({ html: numberBox, className: "dz-stop-icon", iconSize: [24, 24] }), title: (i + 1) + ". " + s.name })
        .bindPopup(function () { return popupFor(Object.assign({ categories: [] }, s)); }).addTo(routeLayer);
      var solved = solvedById[s.id];
      var tools = el("div", { className: "btn-group btn-group-sm dz-stop-tools" }, [
        el("button", { type: "button", className: "btn btn-light", "data-act": "up", title: T.up, "aria-label": T.up }, [el("i", { className: "bi bi-arrow-up" })]),
        el("button", { type: "button", className: "btn btn-light", "data-act": "down", title: T.down, "aria-label": T.down }, [el("i", { className: "bi bi-arrow-down" })]),
        el("button", { type: "button", className: "btn btn-light" + (route.first === s.id ? " active" : ""), "data-act": "first", title: T.pinFirst, "aria-label": T.pinFirst, "aria-pressed": String(route.first === s.id) }, [el("i", { className: "bi bi-skip-start" })]),
        el("button", { type: "button", className: "btn btn-light" + (route.last === s.id ? " active" : ""), "data-act": "last", title: T.pinLast, "aria-label": T.pinLast, "aria-pressed": String(route.last === s.id) }, [el("i", { className: "bi bi-skip-end" })]),
        el("button", { type: "button", className: "btn btn-light", "data-act": "remove", title: T.remove, "aria-label": T.remove }, [el("i", { className: "bi bi-x" })]),
      ]);
      var links = null;
      if (solved) {
        links = el("div", { className: "dz-nav-links" }, [
          el("span", { className: "text-body-secondary", text: (solved.leg_m / 1000).toFixed(1) + " km" }),
          el("a", { href: solved.amap, target: "_blank", rel: "noopener", text: "高德" }),
          el("a", { href: solved.baidu, target: "_blank", rel: "noopener", text: "百度" }),
        ]);
      }
      var item = el("li", { className: "list-group-item dz-route-stop", "data-id": String(s.id) }, [
        el("div", { className: "d-flex gap-2 align-items-start" }, [
          el("span", { className: "dz-stop dz-stop-inline", text: String(i + 1) }),
          el("div", { className: "flex-grow-1 min-w-0" }, [
            el("div", { className: "dz-result-name", text: s.name }),
            el("div", { className: "text-body-secondary dz-result-address", text: s.address }),
            links,
          ]),
        ]),
        tools,
      ]);
      tools.addEventListener("click", function (e) {
        var b = e.target.closest("[data-act]");
        if (!b) { return; }
        var act = b.dataset.act;
        if (act === "up" && i > 0) { route.stops.splice(i - 1, 0, route.stops.splice(i, 1)[0]); solveRoute(false); }
        else if (act === "down" && i < route.stops.length - 1) { route.stops.splice(i + 1, 0, route.stops.splice(i, 1)[0]); solveRoute(false); }
        else if (act === "first") { route.first = route.first === s.id ? null : s.id; if (route.last === s.id) { route.last = null; } renderRoute(); }
        else if (act === "last") { route.last = route.last === s.id ? null : s.id; if (route.first === s.id) { route.first = null; } renderRoute(); }
        else if (act === "remove") { route.stops.splice(i, 1); if (route.first === s.id) { route.first = null; } if (route.last === s.id) { route.last = null; } solveRoute(false); }
      });
      list.appendChild(item);
    });
    if (line.length > 1) { L.polyline(line, { color: "#dc2626", weight: 3, opacity: 0.8, dashArray: route.solved ? null : "6 6", interactive: false }).addTo(routeLayer); }
    document.getElementById("dz-route-optimize").disabled = !(route.start && route.stops.length);
    document.getElementById("dz-route-actions").classList.toggle("d-none", !route.stops.length);
    var csv = document.getElementById("dz-route-csv");
    if (route.start && route.stops.length) {
      csv.href = config.urls.routeCsv + "?start=" + route.start[0].toFixed(6) + "," + route.start[1].toFixed(6) +
        "&stops=" + route.stops.map(function (s) { return s.id; }).join(",");
    }
    var summary = document.getElementById("dz-route-summary");
    if (route.solved) {
      summary.replaceChildren(
        el("div", { className: "fw-semibold", text: fmt(T.total, { stops: route.stops.length, km: (route.solved.total_m / 1000).toFixed(1), time: durationText(route.solved.total_s) }) }),
        el("div", { className: "text-body-secondary", text: route.solved.source === "osrm" ? T.road : T.straight }));
      summary.classList.remove("d-none");
    } else {
      summary.classList.add("d-none");
    }
    document.getElementById("dz-route-list").dataset.order = route.stops.map(function (s) { return s.id; }).join(",");
  }
  function solveRoute(optimize) {
    if (!route.start) { document.getElementById("dz-route-help").textContent = T.needStart; renderRoute(); return Promise.resolve(); }
    if (!route.stops.length) { route.solved = null; renderRoute(); return Promise.resolve(); }
    var body = { start: route.start, stops: route.stops.map(function (s) { return s.id; }), first: route.first, last: route.last, optimize: optimize };
    var button = document.getElementById("dz-route-optimize");
    button.disabled = true;
    return fetch(config.urls.route, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() }, body: JSON.stringify(body),
    }).then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); }).then(function (data) {
      var byId = {};
      route.stops.forEach(function (s) { byId[s.id] = s; });
      // The server's copy (name, address, point) wins over what the page had.
      route.stops = data.stops.map(function (s) {
        return Object.assign(byId[s.id] || {}, { id: s.id, customer: s.customer, name: s.name, address: s.address, lat: s.lat, lng: s.lng });
      });
      route.solved = data;
      renderRoute();
      if (optimize) {
        var b = L.latLngBounds(route.stops.map(function (s) { return toDisplay(s.lat, s.lng); }));
        b.extend(toDisplay(route.start[0], route.start[1]));
        map.fitBounds(b.pad(0.1), { maxZoom: 15 });
      }
      document.getElementById("dz-route-list").dataset.solved = optimize ? "optimised" : "measured";
    }).catch(function () { renderRoute(); });
  }
  document.getElementById("dz-route-optimize").addEventListener("click", function () { solveRoute(true); });
  document.getElementById("dz-route-start").addEventListener("click", function () {
    picking = "start";
    setStatus("picking", T.pickStart);
    document.getElementById("dz-map").classList.add("dz-picking");
  });
  document.getElementById("dz-route-clear").addEventListener("click", function () {
    route.stops = []; route.first = route.last = null; route.solved = null; renderRoute();
  });

  map.on("click", function (e) {
    if (!picking) { return; }
    var w = fromDisplay(e.latlng);
    var what = picking;
    picking = null;
    document.getElementById("dz-map").classList.remove("dz-picking");
    setStatus("ready", statusBox.dataset.total ? numberFmt.format(Number(statusBox.dataset.total)) + " " + T.addresses : "");
    if (what === "nearby") { loadNearby({ lat: w[0], lng: w[1] }); } else { setStart(w[0], w[1]); }
  });

  // --- what is here (a right click, or a long press on a touch screen) -------------------
  function whatIsHere(latlng) {
    var w = fromDisplay(latlng);
    var where = w[0].toFixed(5) + ", " + w[1].toFixed(5);
    var box = el("div", { "data-testid": "what-is-here" }, [el("strong", { text: T.here }), el("div", { text: T.loading })]);
    var popup = L.popup({ maxWidth: 320 }).setLatLng(latlng).setContent(box).openOn(map);
    var query = new URLSearchParams({ lat: w[0].toFixed(6), lng: w[1].toFixed(6) });
    fetchJson("here", config.urls.here + "?" + query).then(function (data) {
      var how = data.approximate ? fmt(T.hereNear, { km: numberFmt.format(data.distance_km) }) : T.hereInside;
      box.replaceChildren(el("strong", { text: T.here }), el("div", { className: "dz-here-label", text: data.label }),
        el("small", { className: "text-body-secondary", text: how + " · " + where }));
      box.dataset.region = data.region_code;
      popup.update();
    }).catch(function (err) {
      if (err.name !== "AbortError") { box.replaceChildren(el("strong", { text: T.here }), el("div", { text: T.hereNone + " · " + where })); }
    });
  }
  map.on("contextmenu", function (e) { whatIsHere(e.latlng); });

  // --- start ----------------------------------------------------------------------------
  var at = (new URLSearchParams(window.location.search).get("at") || "").split(",").map(Number);
  if (at.length === 3 && at.every(isFinite)) { map.setView([at[1], at[2]], at[0]); } else { map.setView(toDisplay(35.5, 104.5), 4); }
  if (config.near) { loadNearby({ near: config.near }); }

  // A small API for tests and power users: the same code paths the buttons use.
  window.dzMap = { map: map, selectPolygon: selectPolygon, loadNearby: loadNearby, addStops: addStops,
                   setStart: setStart, solveRoute: solveRoute, route: route, toDisplay: toDisplay,
                   whatIsHere: whatIsHere };
})();
