// Autosave for the scoring form. Without JavaScript the form still saves through its normal POST
// ("Save" and "Submit scores"); this only saves sooner, while the juror types.
(function () {
  "use strict";
  var form = document.getElementById("scoring-form");
  if (!form || form.dataset.autosave !== "on" || !window.fetch || !window.FormData) { return; }
  var state = document.getElementById("save-state");
  // The revision the page holds: every save sends it, the server refuses a stale one (409), and
  // the hidden field follows each autosave so that the buttons post the current one.
  var hidden = form.elements.revision;
  var timer = null, inFlight = false, again = false, stale = false, submitting = false, pendingSubmit = null;
  // What it says comes from the form's data-text-* attributes, in the page's language; "{name}"
  // marks where a value goes.
  function text(name, values) {
    var template = form.getAttribute("data-text-" + name) || "";
    return template.replace(/\{(\w+)\}/g, function (whole, key) {
      return values && values[key] !== undefined ? String(values[key]) : whole;
    });
  }

  function criterionTitle(key) {
    var heading = document.getElementById("crit-" + key);
    return heading ? heading.textContent : key;
  }

  function describe(data) {
    var parts = [data.message || ""];
    [["scores", "score"], ["comments", "comment"]].forEach(function (kind) {
      var errors = (data.errors || {})[kind[0]] || {};
      Object.keys(errors).forEach(function (key) {
        parts.push(text(kind[1], { criterion: criterionTitle(key), problem: [].concat(errors[key]).join(" ") }));
      });
    });
    return parts.join(" ");
  }

  function payload() {
    var data = new FormData(form);
    data.set("action", "save");
    data.set("revision", hidden.value);
    return data;
  }

  function save() {
    if (stale || submitting) { return; }  // a stale page never overwrites; a posting form saves itself
    if (inFlight) { again = true; return; }
    inFlight = true;
    state.textContent = text("saving");
    // the buttons are named "action", which hides form.action: read the attribute
    fetch(form.getAttribute("action"), { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" },
                         body: payload() })
      .then(function (response) {
        return response.text().then(function (body) {
          var data = {};
          try { data = JSON.parse(body); } catch (e) { data = { message: text("refused", { status: response.status }) }; }
          return { ok: response.ok, status: response.status, data: data };
        });
      })
      .then(function (r) {
        if (r.ok) {
          hidden.value = String(r.data.revision);
          state.textContent = text("saved", { time: new Date().toLocaleTimeString(document.documentElement.lang || undefined),
                                              num: r.data.criteria_scored, total: r.data.criteria });
        } else if (r.status === 409 && r.data.revision !== undefined) {
          stale = true;
          state.textContent = text("stale");
        } else {
          state.textContent = text("not-saved", { reason: describe(r.data) });
        }
      })
      .catch(function () {
        state.textContent = text("offline");
        again = true;
      })
      .then(function () {
        inFlight = false;
        if (pendingSubmit) { var go = pendingSubmit; pendingSubmit = null; go(); return; }
        if (again) { again = false; schedule(3000); }
      });
  }

  function schedule(delay) { clearTimeout(timer); timer = setTimeout(save, delay); }

  form.addEventListener("input", function () {
    if (stale) { return; }
    state.textContent = text("unsaved");
    schedule(800);
  });
  window.addEventListener("online", function () { schedule(100); });
  // A button posts the whole form. An autosave on its way would bump the revision after the form
  // read it, and the post would be refused as stale: wait for that autosave, then post.
  form.addEventListener("submit", function (event) {
    clearTimeout(timer);
    again = false;
    submitting = true;
    if (!inFlight) { return; }
    event.preventDefault();
    var submitter = event.submitter;
    pendingSubmit = function () {
      submitting = false;
      if (form.requestSubmit) { form.requestSubmit(submitter || undefined); } else { form.submit(); }
    };
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && submitting) { window.location.reload(); }
  });
})();
