// Autosave and live word counts for the application form. Without JavaScript the form still
// saves through its normal POST; this only saves sooner and shows counts as you type.
(function () {
  "use strict";
  var form = document.getElementById("application-form");
  if (!form || !window.fetch) { return; }
  var state = document.getElementById("save-state");
  // The revision the page holds: every save sends it, the server refuses a stale one (409), and
  // the hidden field follows each autosave so that the "Save draft" button posts the current one.
  var hidden = form.elements.revision;
  var revision = parseInt((hidden && hidden.value) || form.dataset.revision || "0", 10);
  var timer = null, inFlight = false, again = false, stale = false, submitting = false, pendingSubmit = null;
  // The page's words, in its language: data-msg-* attributes with {placeholders}.
  function msg(name, values) {
    var text = form.dataset["msg" + name] || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }
  var STALE = msg("Stale");

  function setRevision(value) {
    revision = value;
    if (hidden) { hidden.value = String(value); }
    form.dataset.revision = String(value);
  }

  function words(text) { var t = text.trim(); return t ? t.split(/\s+/).length : 0; }

  function updateCount(area) {
    var out = document.getElementById("count-" + area.dataset.criterion);
    if (!out) { return; }
    var limit = parseInt(area.dataset.wordLimit || "0", 10), n = words(area.value);
    out.textContent = limit ? msg("WordsLimit", { count: n, limit: limit }) : msg("Words", { count: n });
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
    if (stale || submitting) { return; }  // a stale page never overwrites; a posting form saves itself
    if (inFlight) { again = true; return; }
    inFlight = true;
    state.textContent = msg("Saving");
    fetch(form.dataset.api, {
      method: "PATCH", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf },
      body: JSON.stringify(payload())
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
    }).then(function (r) {
      if (r.ok) {
        setRevision(r.data.revision || revision + 1);
        state.textContent = msg("Saved", { time: new Date().toLocaleTimeString(document.documentElement.lang || undefined) });
      } else if (r.status === 409 && r.data.errors && r.data.errors.json && r.data.errors.json.revision) {
        stale = true;
        state.textContent = STALE;
      } else {
        state.textContent = msg("NotSaved", { reason: r.data.message || r.status });
      }
    }).catch(function () {
      state.textContent = msg("Offline");
      again = true;
    }).then(function () {
      inFlight = false;
      if (pendingSubmit) { var go = pendingSubmit; pendingSubmit = null; go(); return; }
      if (again) { again = false; schedule(3000); }
    });
  }

  function schedule(delay) { clearTimeout(timer); timer = setTimeout(save, delay); }

  form.querySelectorAll("textarea[data-criterion]").forEach(updateCount);
  form.addEventListener("input", function (event) {
    if (event.target.dataset && event.target.dataset.criterion) { updateCount(event.target); }
    if (stale) { return; }  // keep telling the applicant to reload
    state.textContent = msg("Unsaved");
    schedule(800);
  });
  window.addEventListener("online", function () { schedule(100); });
  // A button press posts the whole form. An autosave on its way would bump the revision after the
  // form read it, and the post would then be refused as stale: wait for that autosave first.
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
  // Back from the preview may restore this page from the cache with the revision it had before
  // the post: load it afresh rather than autosave against a stale revision.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && submitting) { window.location.reload(); }
  });
})();

// Documents: ask intake for a signed upload form, send the file straight to the store with a
// progress bar, then ask intake to check it. After a check, a delete or a replacement, the list
// and the "Still required" warning are fetched again from the page itself (the server's words,
// in the page's language), so they follow without a reload. Without JavaScript, each document's
// Delete button is a plain form post.
(function () {
  "use strict";
  var box = document.getElementById("documents");
  if (!box || !window.XMLHttpRequest || !window.FormData || !window.fetch) { return; }
  var input = document.getElementById("document-file");
  var kind = document.getElementById("document-kind");
  var bar = document.getElementById("upload-progress");
  var state = document.getElementById("upload-state");
  var replacing = null;  // {id, kind, name} of the document the next upload replaces
  var TYPES = { pdf: "application/pdf", jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", mp4: "video/mp4",
    docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" };

  function msg(name, values) {
    var text = box.dataset["msg" + name] || "";
    Object.keys(values || {}).forEach(function (k) { text = text.split("{" + k + "}").join(values[k]); });
    return text;
  }

  function api(method, url, body) {
    return fetch(url, { method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf },
      body: method === "DELETE" ? undefined : JSON.stringify(body || {}) })
      .then(function (r) {
        if (r.status === 204) { return { ok: true, status: 204, data: {} }; }
        return r.json().then(function (d) { return { ok: r.ok, status: r.status, data: d }; });
      });
  }

  function showReplaceButtons() {
    box.querySelectorAll("button.document-replace").forEach(function (b) { b.hidden = false; });
  }

  // The list and the warning as the server now renders them.
  function refresh() {
    return fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("document-state");
        var current = document.getElementById("document-state");
        if (fresh && current) { current.replaceWith(document.importNode(fresh, true)); showReplaceButtons(); }
      });
  }

  function reason(r, checking) {
    if (r.status === 413) { return msg("TooLarge"); }
    if (r.status === 415) { return msg("WrongType"); }
    if (checking && r.status === 422) { return msg("Refused"); }
    return (r.data && r.data.message) || String(r.status);
  }

  function stopReplacing() { replacing = null; }

  box.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.document-replace");
    if (!button) { return; }
    replacing = { id: button.dataset.document, kind: button.dataset.kind, name: button.dataset.name };
    kind.value = replacing.kind;
    state.textContent = msg("Replacing", { name: replacing.name });
    input.focus();
  });
  kind.addEventListener("change", function () { if (replacing && kind.value !== replacing.kind) { stopReplacing(); } });

  box.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("document-delete")) { return; }
    event.preventDefault();  // delete through the API and stay on the page (typed text stays too)
    api("DELETE", form.dataset.api).then(function (r) {
      if (!r.ok && r.status !== 404) { throw new Error(reason(r, false)); }
      if (replacing && form.dataset.api.slice(-replacing.id.length) === replacing.id) { stopReplacing(); }
      state.textContent = msg("Deleted", { name: form.dataset.name });
      return refresh();
    }).catch(function (err) { state.textContent = msg("NotDeleted", { reason: err.message }); });
  });

  document.getElementById("document-upload").addEventListener("click", function () {
    var file = input.files[0];
    if (!file) { state.textContent = msg("Choose"); return; }
    var ext = (file.name.split(".").pop() || "").toLowerCase();
    var type = file.type || TYPES[ext] || "application/octet-stream";
    var body = { kind: kind.value, filename: file.name, content_type: type, size: file.size };
    if (replacing && replacing.kind === kind.value) { body.replaces = replacing.id; }
    state.textContent = msg("Preparing");
    api("POST", box.dataset.create, body)
      .then(function (r) {
        if (!r.ok) { throw new Error(reason(r, false)); }
        var form = new FormData();
        Object.keys(r.data.upload.fields).forEach(function (k) { form.append(k, r.data.upload.fields[k]); });
        form.append("file", file);
        return new Promise(function (resolve, reject) {
          var xhr = new XMLHttpRequest();
          xhr.open("POST", r.data.upload.url);
          bar.hidden = false; bar.value = 0;
          xhr.upload.onprogress = function (e) {
            if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); state.textContent = msg("Uploading", { percent: bar.value }); }
          };
          xhr.onload = function () { (xhr.status >= 200 && xhr.status < 300) ? resolve(r.data.document) : reject(new Error(msg("StoreRefused", { status: xhr.status }))); };
          xhr.onerror = function () { reject(new Error(msg("Dropped"))); };
          xhr.send(form);
        });
      })
      .then(function (doc) { state.textContent = msg("Checking"); return api("POST", "/api/documents/" + doc.id + "/complete"); })
      .then(function (r) {
        if (!r.ok) { throw new Error(reason(r, true)); }
        bar.value = 100;
        stopReplacing();
        input.value = "";
        return refresh().then(function () { state.textContent = msg("Checked", { name: r.data.filename }); });
      })
      .catch(function (err) { state.textContent = msg("NotUploaded", { reason: err.message }); });
  });
  showReplaceButtons();
})();
