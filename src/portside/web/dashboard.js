// portside dashboard: live tables from the server's event stream, and the actions. No build step, no CDN.
// The tables' HTML is rendered (and escaped) by the server; this only swaps it in.
(() => {
  "use strict";
  const status = document.getElementById("status");
  const message = document.getElementById("message");
  const show = (text) => { if (status) status.textContent = text; };
  const say = (text) => { if (message) message.textContent = text; };
  const query = new URLSearchParams(location.search).get("q") || "";
  const stream = new EventSource("/events" + (query ? "?q=" + encodeURIComponent(query) : ""));
  stream.addEventListener("update", (event) => {
    const parts = JSON.parse(event.data);
    for (const [name, html] of Object.entries(parts)) {
      const body = document.getElementById(name);
      if (body) body.innerHTML = html;
    }
    show("live, updated " + new Date().toLocaleTimeString());
  });
  stream.addEventListener("open", () => show("live"));
  stream.addEventListener("error", () => show("disconnected; reconnecting"));
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    const body = button.dataset.port !== undefined ? {port: Number(button.dataset.port)} : {name: button.dataset.name};
    if (action === "kill" && !window.confirm(`Send SIGTERM to the processes listening on port ${body.port}?`)) return;
    button.disabled = true;
    say(`${action}…`);
    try {
      const response = await fetch("/api/" + action, {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-Portside-Action": action},
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => ({}));
      say(answer.message || answer.error || `${response.status} ${response.statusText}`);
    } catch (error) {
      say(`${action} failed: ${error}`);
    } finally {
      button.disabled = false;
    }
  });
})();
