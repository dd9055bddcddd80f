// /cluster refreshes its figures and its log every 5 s without reloading the page.
// The page is complete without this script: it only saves pressing Refresh.
(function () {
  "use strict";
  var PERIOD = 5000;
  var state = document.getElementById("live-state");
  if (!state || !window.fetch || !window.DOMParser) { return; }
  var paused = false;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = "Pause updates";
  button.setAttribute("aria-pressed", "false");
  button.addEventListener("click", function () {
    paused = !paused;
    button.textContent = paused ? "Resume updates" : "Pause updates";
    button.setAttribute("aria-pressed", String(paused));
  });
  state.parentNode.insertBefore(button, state.parentNode.firstChild);

  function swap(fresh, id) {
    var next = fresh.getElementById(id), now = document.getElementById(id);
    if (next && now) { now.replaceWith(next); }
  }

  function refresh() {
    // Not while hidden or paused, nor while the reader is in a table (a swap would move their focus).
    var busy = document.activeElement && document.activeElement.closest &&
      document.activeElement.closest("#live-services, #live-log");
    if (paused || document.hidden || busy) { return schedule(); }
    fetch(location.pathname + location.search, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (answer) { return answer.text(); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html");
        swap(fresh, "live-services");
        swap(fresh, "live-log");
        state.textContent = "Updated at " + new Date().toLocaleTimeString() + ".";
      })
      .catch(function () { state.textContent = "Not updated: the portal did not answer."; })
      .then(schedule);
  }

  function schedule() { window.setTimeout(refresh, PERIOD); }
  schedule();
})();
