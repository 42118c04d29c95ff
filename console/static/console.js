// hpcalc console: the comforts that need a script. Every page works without it; this
// file adds the quote as the user types, the print button and confirmations.
"use strict";

(function () {
  // The quote as the user types: the form is sent to the desk's quote address, which
  // answers the quote and the person panel as HTML and each field's error.
  var form = document.getElementById("claim-form");
  if (form) {
    var quote = document.getElementById("quote");
    var person = document.getElementById("person");
    var emptyQuote = quote.innerHTML;
    var emptyPerson = person.innerHTML;
    var touched = {};
    var seq = 0, shown = 0, timer = 0;
    var csrf = form.querySelector("input[name=csrf]").value;

    form.querySelectorAll("input[name], select[name]").forEach(function (el) {
      if (el.value && el.type !== "hidden" && el.name !== "claim_id") { touched[el.name] = true; }
    });

    var showErrors = function (errors) {
      form.querySelectorAll(".error[id^=err-]").forEach(function (p) {
        var field = p.id.slice(4);
        var msg = (touched[field] && errors[field]) || "";
        p.textContent = msg;
        var box = p.closest(".field");
        if (box) { box.classList.toggle("invalid", msg !== ""); }
      });
    };

    var send = function () {
      var mine = ++seq;
      var started = performance.now();
      var body = new URLSearchParams(new FormData(form));
      fetch(form.dataset.quote, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
        body: body,
        credentials: "same-origin"
      }).then(function (r) { return r.json(); }).then(function (ans) {
        if (mine < shown) { return; }
        shown = mine;
        if (ans.error) { quote.textContent = ans.error; return; }
        quote.innerHTML = ans.quote || emptyQuote;
        person.innerHTML = ans.person || emptyPerson;
        showErrors(ans.errors || {});
        form.dataset.quoteMs = (performance.now() - started).toFixed(1);
        form.dataset.quotes = String(mine);
        // What the shown quote was computed from: tests wait for the quote of what they typed.
        form.dataset.quoted = body.toString();
      });
    };

    var changed = function (e) {
      if (e.target.name) { touched[e.target.name] = true; }
      clearTimeout(timer);
      timer = setTimeout(send, 120);
    };
    form.addEventListener("input", changed);
    form.addEventListener("change", changed);
  }

  var print = document.getElementById("print");
  if (print) { print.addEventListener("click", function () { window.print(); }); }
  if (document.body.dataset.autoprint) { window.addEventListener("load", function () { window.print(); }); }

  document.querySelectorAll("[data-confirm]").forEach(function (b) {
    b.addEventListener("click", function (e) {
      if (!window.confirm(b.dataset.confirm)) { e.preventDefault(); }
    });
  });
})();
