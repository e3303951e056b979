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
  var STALE = "Not saved: this draft was saved elsewhere since you opened this page. " +
    "Reload the page to continue from the saved version (copy any text you want to keep first).";

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
    if (stale || submitting) { return; }  // a stale page never overwrites; a posting form saves itself
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
        setRevision(r.data.revision || revision + 1);
        state.textContent = "Saved at " + new Date().toLocaleTimeString();
      } else if (r.status === 409 && r.data.errors && r.data.errors.json && r.data.errors.json.revision) {
        stale = true;
        state.textContent = STALE;
      } else {
        state.textContent = "Not saved: " + (r.data.message || r.status);
      }
    }).catch(function () {
      state.textContent = "Offline: your text is kept in this page; it will be saved when the connection returns.";
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
    state.textContent = "Unsaved changes";
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

// Document upload: ask intake for a signed upload form, send the file straight to the store
// with a progress bar, then ask intake to check it.
(function () {
  "use strict";
  var box = document.getElementById("documents");
  if (!box || !window.XMLHttpRequest || !window.FormData) { return; }
  var input = document.getElementById("document-file");
  var kind = document.getElementById("document-kind");
  var bar = document.getElementById("upload-progress");
  var state = document.getElementById("upload-state");
  var TYPES = { pdf: "application/pdf", jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", mp4: "video/mp4",
    docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" };

  function api(method, url, body) {
    return fetch(url, { method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": box.dataset.csrf },
      body: body ? JSON.stringify(body) : "{}" })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); });
  }

  document.getElementById("document-upload").addEventListener("click", function () {
    var file = input.files[0];
    if (!file) { state.textContent = "Choose a file first."; return; }
    var ext = (file.name.split(".").pop() || "").toLowerCase();
    var type = file.type || TYPES[ext] || "application/octet-stream";
    state.textContent = "Preparing the upload…";
    api("POST", box.dataset.create, { kind: kind.value, filename: file.name, content_type: type, size: file.size })
      .then(function (r) {
        if (!r.ok) { throw new Error(r.data.message || "refused"); }
        var form = new FormData();
        Object.keys(r.data.upload.fields).forEach(function (k) { form.append(k, r.data.upload.fields[k]); });
        form.append("file", file);
        return new Promise(function (resolve, reject) {
          var xhr = new XMLHttpRequest();
          xhr.open("POST", r.data.upload.url);
          bar.hidden = false; bar.value = 0;
          xhr.upload.onprogress = function (e) {
            if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); state.textContent = "Uploading… " + bar.value + "%"; }
          };
          xhr.onload = function () { (xhr.status >= 200 && xhr.status < 300) ? resolve(r.data.document) : reject(new Error("the store refused the file (" + xhr.status + ")")); };
          xhr.onerror = function () { reject(new Error("the connection dropped; try again")); };
          xhr.send(form);
        });
      })
      .then(function (doc) { state.textContent = "Checking the file…"; return api("POST", "/api/documents/" + doc.id + "/complete"); })
      .then(function (r) {
        if (!r.ok) { throw new Error(r.data.message || "the file did not pass the check"); }
        bar.value = 100;
        state.textContent = "Uploaded and checked: " + r.data.filename;
        var list = document.getElementById("document-list"), item = document.createElement("li");
        list.querySelectorAll("li.hint").forEach(function (empty) { empty.remove(); });
        item.textContent = r.data.filename + " · checked";
        item.dataset.status = "verified";
        list.appendChild(item);
      })
      .catch(function (err) { state.textContent = "Not uploaded: " + err.message; });
  });
})();
