/* Small behaviours any page may declare in its markup, so that no page needs inline script
 * (the Content-Security-Policy allows scripts from this site only):
 *
 *   <button data-copy-from="field-id">      copies that field's value to the clipboard
 *   <form data-confirm="Really?">            asks before submitting
 *   <textarea data-checks="radio-id">        typing in it checks that radio button
 */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-from]");
    if (!button) { return; }
    var field = document.getElementById(button.dataset.copyFrom);
    if (!field) { return; }
    field.select();
    if (navigator.clipboard) { navigator.clipboard.writeText(field.value).catch(function () {}); }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!area.dataset || !area.dataset.checks) { return; }
    var radio = document.getElementById(area.dataset.checks);
    if (radio && area.value.trim()) { radio.checked = true; }
  });
})();
