/* Cascading region pickers: country → province → city → district.
 *
 * Markup: <div data-region-picker data-children-url="…/regions/children/">
 *           <input type="hidden" name="region" value="…">
 *           <select data-depth="0">…</select> [<select data-depth="1">…</select> …]
 *         </div>
 * Choosing a region stores the deepest chosen code in the hidden input and fires
 * a bubbling "change" on it. With data-submit-on-change the surrounding form is
 * re-rendered by the server (the next level comes back with it); otherwise the
 * next level's options are fetched as JSON from data-children-url.
 *
 * window.DizhiRegions gives the same fetching (cached per page) and option filling to
 * pickers with one named select per level (the address form's country / province / city /
 * district fields, address-form.js).
 */
(function () {
  "use strict";
  var LABELS = ["country", "province", "city", "district"];

  function selects(picker) {
    return Array.prototype.slice.call(picker.querySelectorAll("select[data-depth]"));
  }

  function deepestValue(picker) {
    var value = "";
    selects(picker).forEach(function (s) { if (s.value) { value = s.value; } });
    return value;
  }

  function makeSelect(picker, depth, regions) {
    var template = picker.querySelector("select[data-depth]");
    var select = document.createElement("select");
    select.className = template ? template.className : "form-select";
    select.dataset.depth = String(depth);
    var placeholder = picker.dataset["placeholder" + depth] || "—";
    var empty = document.createElement("option");
    empty.value = "";
    empty.textContent = placeholder;
    select.appendChild(empty);
    regions.forEach(function (r) {
      var option = document.createElement("option");
      option.value = r.code;
      option.textContent = r.name;  // textContent: region names are never parsed as HTML
      select.appendChild(option);
    });
    select.setAttribute("aria-label", picker.dataset["label" + depth] || LABELS[depth] || "");
    picker.appendChild(select);
    return select;
  }

  // The regions under `parent` from the geo:region_children endpoint, one fetch per parent.
  var cache = {};
  function children(url, parent) {
    if (!parent || !url) { return Promise.resolve([]); }
    var key = url + "?parent=" + encodeURIComponent(parent);
    if (!cache[key]) {
      cache[key] = fetch(key, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { regions: [] }; })
        .then(function (data) { return data.regions || []; })
        .catch(function () { delete cache[key]; return []; });
    }
    return cache[key];
  }

  // Replaces a select's options by `regions` (keeping its placeholder); names via Option text.
  function fill(select, regions, selected) {
    var placeholder = select.options.length ? select.options[0].text : "";
    select.replaceChildren(new Option(placeholder, ""));
    regions.forEach(function (r) { select.add(new Option(r.name, r.code)); });
    select.value = selected || "";
    if (select.value !== (selected || "")) { select.value = ""; }
  }

  function loadChildren(picker, parentCode, depth) {
    if (depth > 3) { return; }
    children(picker.dataset.childrenUrl, parentCode).then(function (regions) {
      if (regions.length) { makeSelect(picker, depth, regions); }
    });
  }

  function onChange(event) {
    var select = event.target;
    if (!select.matches("select[data-depth]")) { return; }
    var picker = select.closest("[data-region-picker]");
    event.stopPropagation();
    var depth = Number(select.dataset.depth);
    selects(picker).forEach(function (s) {
      if (Number(s.dataset.depth) > depth) { s.remove(); }
    });
    var hidden = picker.querySelector("input[type=hidden]");
    hidden.value = deepestValue(picker);
    picker.dispatchEvent(new CustomEvent("region-change", { bubbles: true, detail: { code: hidden.value } }));
    if (!picker.hasAttribute("data-submit-on-change")) {
      loadChildren(picker, select.value, depth + 1);
    }
    hidden.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("[data-region-picker]")) { onChange(event); }
  }, true);

  window.DizhiRegions = { children: children, fill: fill };
})();
