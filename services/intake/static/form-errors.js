// A form's error summary (the register and profile pages): it takes the focus when the page
// opens, so a screen reader reads it and a keyboard starts there; each of its links moves the
// focus to its field (a plain #link would only scroll). Without JavaScript the summary is still
// the first thing in the form and its links still lead to the fields.
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) { return; }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!field) { return; }
    event.preventDefault();
    var label = document.querySelector("label[for='" + field.id + "']");
    (label || field).scrollIntoView();
    field.focus({ preventScroll: true });
  });
})();
