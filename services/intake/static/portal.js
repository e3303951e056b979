// Autosave and live word counts for the application form. Without JavaScript the form still
// saves through its normal POST; this only saves sooner and shows counts as you type.
(function () {
  "use strict";
  var form = document.getElementById("application-form");
  if (!form || !window.fetch) { return; }
  var state = document.getElementById("save-state");
  var revision = parseInt(form.dataset.revision || "0", 10);
  var timer = null, inFlight = false, again = false;

  function words(text) { var t = text.trim(); return t ? t.split(/\s+/).length : 0; }

  function updateCount(area) {
    var out = document.getElementById("count-" + area.dataset.criterion);
    if (!out) { return; }
    var limit = parseInt(area.dataset.wordLimit || "0", 10), n = words(area.value);
    out.textContent = n + (limit ? " / " + limit : "") + " words";
    out.classList.toggle("over", limit > 0 && n > limit);
  }

  function payload() {
    var body = { answers: {}, revision: revision };
    ["title", "summary", "location", "start_date", "budget", "partners"].forEach(function (name) {
      var el = form.elements[name]; if (el) { body[name] = el.value; }
    });
    form.querySelectorAll("textarea[data-criterion]").forEach(function (area) {
      body.answers[area.dataset.criterion] = area.value;
    });
    return body;
  }

  function save() {
    if (inFlight) { again = true; return; }
    inFlight = true;
    state.textContent = "Saving…";
    fetch(form.dataset.api, {
      method: "PATCH", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
      body: JSON.stringify(payload())
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
    }).then(function (r) {
      if (r.ok) {
        revision = r.data.revision || revision + 1;
        state.textContent = "Saved at " + new Date().toLocaleTimeString();
      } else if (r.status === 409) {
        state.textContent = "A newer version was saved elsewhere. Reload the page to continue from it.";
      } else {
        state.textContent = "Not saved: " + (r.data.message || r.status);
      }
    }).catch(function () {
      state.textContent = "Offline: your text is kept in this page; it will be saved when the connection returns.";
      again = true;
    }).then(function () {
      inFlight = false;
      if (again) { again = false; schedule(3000); }
    });
  }

  function schedule(delay) { clearTimeout(timer); timer = setTimeout(save, delay); }

  form.querySelectorAll("textarea[data-criterion]").forEach(updateCount);
  form.addEventListener("input", function (event) {
    if (event.target.dataset && event.target.dataset.criterion) { updateCount(event.target); }
    state.textContent = "Unsaved changes";
    schedule(800);
  });
  window.addEventListener("online", function () { schedule(100); });
})();
