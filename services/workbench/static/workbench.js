// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // A form is sent once: the button is disabled after the first click (the server also
  // refuses a second registration through the form's Idempotency-Key).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-disabled", "true"); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    // The error summary takes the focus, so a screen reader reads it first (GOV.UK).
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    var print = document.querySelectorAll(".js-print");
    for (var i = 0; i < print.length; i++) {
      print[i].hidden = false;
      print[i].addEventListener("click", function () { window.print(); });
    }
  });
})();
