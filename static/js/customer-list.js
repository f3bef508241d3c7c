/* Customer list: row selection for bulk actions, export of the selection, and
 * re-running the filter when controls outside the filter form change. Works on
 * the first page load and after every htmx swap of #dz-list-page. */
(function () {
  "use strict";

  function rowChecks() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-row-check]"));
  }

  function selectedIds() {
    return rowChecks().filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
  }

  function refresh() {
    var ids = selectedIds();
    var label = document.querySelector("[data-selected-label]");
    if (label) {
      label.textContent = ids.length
        ? label.dataset.templateSome.replace("%(count)s", String(ids.length))
        : label.dataset.templateNone;
      label.classList.toggle("fw-semibold", ids.length > 0);
      label.classList.toggle("text-body-secondary", ids.length === 0);
    }
    document.querySelectorAll("[data-bulk-control]").forEach(function (el) { el.disabled = ids.length === 0; });
    var all = document.querySelector("[data-select-all]");
    if (all) {
      var checks = rowChecks();
      all.checked = checks.length > 0 && ids.length === checks.length;
      all.indeterminate = ids.length > 0 && ids.length < checks.length;
    }
    rowChecks().forEach(function (c) { c.closest("tr").classList.toggle("table-active", c.checked); });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      rowChecks().forEach(function (c) { c.checked = target.checked; });
      refresh();
    } else if (target.matches("[data-row-check]")) {
      refresh();
    } else if (target.matches("[data-filter-external]")) {
      var form = document.getElementById(target.getAttribute("form"));
      if (form) { form.requestSubmit(); }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-export-selected]");
    if (!button) { return; }
    var ids = selectedIds();
    if (ids.length) {
      window.location.assign(button.dataset.exportUrl + "?ids=" + encodeURIComponent(ids.join(",")));
    }
  });

  document.addEventListener("submit", function (event) {
    // Bulk forms only make sense with a selection; say so instead of posting nothing.
    if (event.target.id === "dz-bulk" && selectedIds().length === 0) { event.preventDefault(); }
  });

  // Keep the phone-width filter panel open across htmx swaps of the page.
  var filtersOpen = false;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "dz-list-page") {
      var panel = document.getElementById("dz-filter-panel");
      filtersOpen = !!(panel && panel.classList.contains("show"));
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "dz-list-page") {
      var panel = document.getElementById("dz-filter-panel");
      if (panel && filtersOpen) { panel.classList.add("show"); }
      refresh();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", refresh);
  } else {
    refresh();
  }
})();
