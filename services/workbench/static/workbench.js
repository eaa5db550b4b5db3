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
  // The register form: the reply due date as saving would set it, asked again whenever the
  // channel or a date changes (the page already shows it as rendered, or a hint, without JS).
  var DUE_FIELDS = ["channel", "submitted_on", "signed_on", "confirmed_on"];
  function followDue(preview) {
    var form = preview.closest("form");
    var lines = document.getElementById("due-preview-lines");
    var asked = 0;
    function update() {
      var params = new URLSearchParams();
      DUE_FIELDS.forEach(function (name) {
        var input = form.elements.namedItem(name);
        if (input && input.value) { params.set(name, input.value); }
      });
      var mine = ++asked;
      fetch(preview.dataset.src + "?" + params.toString(), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (r) { return r.ok ? r.json() : null; }).then(function (body) {
        if (!body || mine !== asked) { return; }  // a later change already asked again
        lines.textContent = "";
        body.lines.forEach(function (text) {
          var p = document.createElement("p");
          p.textContent = text;
          lines.appendChild(p);
        });
        preview.dataset.due = body.lines.length > 1 ? "shown" : "hint";
      }).catch(function () { /* the text shown stays: saving still shows the due date */ });
    }
    DUE_FIELDS.forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (input) { input.addEventListener("change", update); }
    });
  }
  // The 解读 drafting form: the quality gate measured again a moment after typing stops
  // (the page's 质量自查 button does the same without JavaScript); nothing is saved.
  function followGate(form) {
    var live = document.getElementById("gate-live");
    var timer = null;
    var asked = 0;
    function measure() {
      var mine = ++asked;
      var body = new URLSearchParams(new FormData(form));
      fetch(form.dataset.gate, {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
        if (html === null || mine !== asked) { return; }
        live.innerHTML = html;  // the workbench's own escaped template fragment
        live.dataset.measured = String(mine);
      }).catch(function () { /* 质量自查 still works */ });
    }
    form.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(measure, 800);
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var draft = document.getElementById("draft-form");
    if (draft && draft.dataset.gate) { followGate(draft); }
    // The error summary takes the focus, so a screen reader reads it first (GOV.UK).
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    var preview = document.getElementById("due-preview");
    if (preview) { followDue(preview); }
    var print = document.querySelectorAll(".js-print");
    for (var i = 0; i < print.length; i++) {
      print[i].hidden = false;
      print[i].addEventListener("click", function () { window.print(); });
    }
  });
})();
