// bulkdir serve: the little the page does in the browser. Everything else is rendered on the server.
"use strict";

function upload(form, file) {
  const busy = form.querySelector(".uploading");
  const error = form.querySelector(".error");
  const select = document.getElementById("mapping-select");
  let url = form.dataset.upload;
  if (select && select.value) {
    url += (url.includes("?") ? "&" : "?") + "mapping=" + encodeURIComponent(select.value);
  }
  busy.hidden = false;
  error.hidden = true;
  fetch(url, {
    method: "POST",
    body: file,
    headers: {"X-Filename": encodeURIComponent(file.name), "Content-Type": "application/octet-stream"},
    credentials: "same-origin",
  }).then(async (response) => {
    let answer = {};
    try { answer = await response.json(); } catch (e) { answer = {error: response.statusText}; }
    if (response.ok && answer.next) {
      window.location.assign(answer.next);
      return;
    }
    busy.hidden = true;
    error.textContent = answer.error || response.statusText;
    error.hidden = false;
  }).catch((e) => {
    busy.hidden = true;
    error.textContent = String(e);
    error.hidden = false;
  });
}

function setUpUpload(form) {
  const input = form.querySelector("input[type=file]");
  input.addEventListener("change", () => { if (input.files.length) upload(form, input.files[0]); });
  form.addEventListener("dragover", (event) => { event.preventDefault(); form.classList.add("over"); });
  form.addEventListener("dragleave", () => form.classList.remove("over"));
  form.addEventListener("drop", (event) => {
    event.preventDefault();
    form.classList.remove("over");
    if (event.dataTransfer.files.length) upload(form, event.dataTransfer.files[0]);
  });
  form.addEventListener("submit", (event) => event.preventDefault());
}

function fill(id, template, value) {
  const element = document.getElementById(id);
  if (!element) return;
  if (value === null || value === undefined) { element.textContent = ""; return; }
  element.textContent = template.replace(/\{[a-z]+\}/, value);
}

function watchRun(section) {
  const state = document.getElementById("run-state");
  const bar = document.getElementById("run-progress");
  const terminal = ["finished", "interrupted", "failed"];
  const show = (data) => {
    bar.setAttribute("aria-valuenow", data.done);
    bar.setAttribute("aria-valuemax", data.total);
    bar.querySelector(".bar").style.width = (data.total ? (100 * data.done / data.total) : 0) + "%";
    document.getElementById("run-count").textContent = data.done + " / " + data.total;
    fill("run-rate", document.getElementById("run-rate").dataset.template, data.done ? data.rate : null);
    fill("run-eta", document.getElementById("run-eta").dataset.template, data.seconds_left);
    fill("run-failures", document.getElementById("run-failures").dataset.template, data.failures);
    const error = document.getElementById("run-error");
    error.hidden = !data.error;
    error.textContent = data.error || "";
    document.getElementById("run-stopping").hidden = !data.stopping;
    const list = document.getElementById("run-failed");
    if (data.failed && data.failed.length) {
      list.replaceChildren(...data.failed.map((f) => {
        const item = document.createElement("li");
        item.textContent = f.target + ": " + f.message;
        return item;
      }));
    }
    const before = state.dataset.state;
    state.dataset.state = data.state;
    state.textContent = data.state_text;
    if (terminal.includes(data.state) && !terminal.includes(before)) {
      window.location.reload();  // the results are rendered on the server
    }
  };
  if (terminal.includes(state.dataset.state)) {
    const data = {done: Number(bar.getAttribute("aria-valuenow")), total: Number(bar.getAttribute("aria-valuemax"))};
    bar.querySelector(".bar").style.width = (data.total ? (100 * data.done / data.total) : 100) + "%";
    return;
  }
  const source = new EventSource(section.dataset.events);
  source.onmessage = (event) => {
    const data = JSON.parse(event.data);
    show(data);
    if (terminal.includes(data.state)) source.close();
  };
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-upload]").forEach(setUpUpload);
  document.querySelectorAll("[data-autosubmit]").forEach((element) => {
    element.addEventListener("change", () => element.form.submit());
  });
  const run = document.getElementById("run");
  if (run) watchRun(run);
});
