// Live environment page: applies `step` and `status` server-sent events to the page, reloads at a final status.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || live.dataset.final === "true" || !window.EventSource) { return; }
  var labels = {PENDING: "Not started", RUNNING: "Running", SUCCEEDED: "Succeeded", FAILED: "Failed", COMPENSATING: "Undoing",
    COMPENSATED: "Undone", SKIPPED: "Skipped", PENDING_APPROVAL: "Waiting for approval", CANCELLED: "Cancelled", DECOMMISSIONED: "Decommissioned"};
  var source = new EventSource(live.dataset.events);
  source.addEventListener("step", function (event) {
    var step = JSON.parse(event.data);
    var item = document.querySelector('[data-step="' + step.name + '"]');
    if (!item) { return; }
    item.dataset.status = step.status;
    item.dataset.attempts = String(step.attempts);
    var text = item.querySelector(".step-status");
    if (text) { text.textContent = labels[step.status] || step.status; }
    var attempts = item.querySelector(".step-attempts");
    if (attempts) { attempts.textContent = step.attempts + (step.attempts === 1 ? " attempt" : " attempts"); }
    var detail = item.querySelector(".step-detail");
    if (detail) { detail.textContent = step.detail || ""; }
    live.textContent = step.name + ": " + (labels[step.status] || step.status);
  });
  source.addEventListener("status", function (event) {
    var status = JSON.parse(event.data);
    var badge = document.getElementById("status");
    if (badge && badge.dataset.status !== status.status) { window.location.reload(); return; }
    if (status.final) { source.close(); window.location.reload(); }
  });
}());
