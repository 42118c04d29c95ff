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
  // Long runs (an audit, a what-if) show that they are running: the page is replaced by
  // the answer when it comes.
  document.querySelectorAll("form[data-progress]").forEach(function (f) {
    f.addEventListener("submit", function (e) {
      var p = document.getElementById(f.dataset.progress);
      if (p) { p.hidden = false; }
      f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      if (f.dataset.jobs) { e.preventDefault(); runJob(f, p); }
    });
  });

  // A form with data-jobs runs as a job: started by a POST, its progress polled and shown
  // (stage, counts, a bar), cancellable; when done the result page opens. Errors show at
  // their fields, or under the form.
  var runJob = function (f, p) {
    var bar = p.querySelector("progress"), text = p.querySelector("[id$=-progress-text]");
    var cancel = p.querySelector("button[id^=cancel]"), problem = document.getElementById(f.id.replace("-form", "-error"));
    var headers = { "X-CSRF-Token": f.dataset.csrf, "Content-Type": "application/x-www-form-urlencoded" };
    var stop = function (msg) {
      p.hidden = true;
      f.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
      if (problem && msg) { problem.textContent = msg; problem.hidden = false; }
    };
    var show = function (ans) {
      text.textContent = ans.text || "";
      if (ans.total > 0) { bar.max = ans.total; bar.value = ans.done; } else { bar.removeAttribute("value"); }
      p.dataset.stage = ans.stage || "";
    };
    var fieldErrors = function (errs) {
      f.querySelectorAll(".error[id^=err-]").forEach(function (e) {
        var msg = errs[e.id.slice(4)] || "";
        e.textContent = msg;
        var box = e.closest(".field");
        if (box) { box.classList.toggle("invalid", msg !== ""); }
      });
    };
    var json = function (r) { return r.json().then(function (ans) { ans.status = r.status; return ans; }); };
    if (problem) { problem.hidden = true; }
    fieldErrors({});
    fetch(f.dataset.jobs, { method: "POST", headers: headers, body: new URLSearchParams(new FormData(f)), credentials: "same-origin" })
      .then(json).then(function (ans) {
        if (ans.errors) { fieldErrors(ans.errors); stop(""); return; }
        if (!ans.id) { stop(ans.error || String(ans.status)); return; }
        var url = f.dataset.jobs + "/" + encodeURIComponent(ans.id);
        cancel.hidden = false;
        cancel.disabled = false;
        cancel.onclick = function () {
          cancel.disabled = true;
          fetch(url + "/cancel", { method: "POST", headers: headers, credentials: "same-origin" })
            .then(function () { p.dataset.cancelled = ans.id; });
        };
        var poll = function () {
          fetch(url, { credentials: "same-origin" }).then(json).then(function (st) {
            show(st);
            if (st.error) { cancel.hidden = true; stop(st.error); return; }
            if (st.result) { window.location.assign(st.result); return; }
            setTimeout(poll, 200);
          }, function () { setTimeout(poll, 1000); });
        };
        show(ans);
        poll();
      }, function (err) { stop(String(err)); });
  };

  // Tables sorted by a click on a column's header, and filtered by what is typed.
  var number = function (s) { return Number(s.replace(/[^0-9.\-]/g, "")); };
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var body = table.tBodies[0];
    table.querySelectorAll("button.sort").forEach(function (b) {
      b.addEventListener("click", function () {
        var col = Number(b.dataset.col), num = !!b.dataset.num;
        var dir = b.dataset.dir === "asc" ? "desc" : "asc";
        table.querySelectorAll("button.sort").forEach(function (o) { delete o.dataset.dir; o.closest("th").removeAttribute("aria-sort"); });
        b.dataset.dir = dir;
        b.closest("th").setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
        var rows = Array.from(body.rows);
        rows.sort(function (x, y) {
          var a = x.cells[col].textContent.trim(), c = y.cells[col].textContent.trim();
          var r = num ? number(a) - number(c) : a.localeCompare(c, "zh");
          return dir === "asc" ? r : -r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.dataset.filter);
    if (!table) { return; }
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      Array.from(table.tBodies[0].rows).forEach(function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  });

  // A parameter changed from the policy in force is marked as the user types.
  document.querySelectorAll("input[data-was]").forEach(function (input) {
    input.addEventListener("input", function () {
      input.closest(".field").classList.toggle("changed", input.value.trim() !== input.dataset.was);
    });
  });
})();
