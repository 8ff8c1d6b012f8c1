// The console's only script: live updates by server-sent events, ages that tick, and a
// confirmation step on forms that ask for one. Every page works without it (reload to update).
"use strict";

function formatAge(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
}

function tickAges() {
  const now = Date.now();
  for (const cell of document.querySelectorAll("[data-since]")) {
    const since = Number(cell.dataset.since);
    if (since > 0) cell.textContent = formatAge(now - since);
  }
}

// An operator typing a shelve reason keeps the form: the newest update waits until it closes.
function editing(container) {
  return container.querySelector("details[open]") !== null ||
    (document.activeElement && container.contains(document.activeElement) &&
     document.activeElement.tagName === "INPUT");
}

function follow(live) {
  const container = document.getElementById(live.dataset.target);
  let pending = null;
  const apply = () => {
    if (pending === null || editing(container)) return;
    container.innerHTML = pending; // rendered and escaped by the server's templates
    pending = null;
    tickAges();
  };
  const source = new EventSource(live.dataset.stream);
  source.addEventListener("open", () => { live.textContent = "Live"; live.className = "live on"; });
  source.addEventListener("update", (event) => { pending = event.data; apply(); });
  source.addEventListener("error", () => {
    live.textContent = "Reconnecting…";
    live.className = "live off";
    // Closed for good (the session expired): the reload shows the login page and says why.
    if (source.readyState === EventSource.CLOSED) setTimeout(() => location.reload(), 1000);
  });
  container.addEventListener("toggle", apply, true);
  container.addEventListener("focusout", () => setTimeout(apply, 0));
}

document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("live");
  if (live && window.EventSource) follow(live);
  tickAges();
  setInterval(tickAges, 1000);
});
