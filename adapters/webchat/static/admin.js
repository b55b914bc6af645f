// The dashboard's behaviour: its buttons and forms send the core's own presses, texts and
// commands (JSON, same origin); the bot's answers appear beside the page; the page follows
// every change live and refreshes its main part, never while a facilitator is typing in it.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
let pendingRefresh = false;

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    credentials: "same-origin",
  });
  let answer = {};
  try { answer = await response.json(); } catch (_) { /* an empty answer */ }
  if (!response.ok || answer.ok === false) toast(answer.error || answer.refusal || response.statusText, true);
  return response.ok ? answer : null;
}

function toast(text, refused = false) {
  if (!text) return;
  const box = $("#toast");
  box.textContent = text;
  box.className = refused ? "refused" : "";
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

// --- the main part, live -----------------------------------------------------------------

function typing() {
  const active = document.activeElement;
  return active && $("#main").contains(active) && ["TEXTAREA", "INPUT", "SELECT"].includes(active.tagName)
    || [...document.querySelectorAll("#main form.reason:not([hidden])")].length > 0;
}

async function refresh() {
  if (typing()) { pendingRefresh = true; return; }
  pendingRefresh = false;
  const url = new URL(location.href);
  url.searchParams.set("part", "1");
  const response = await fetch(url, { credentials: "same-origin" });
  if (response.redirected || !response.ok) { location.reload(); return; }
  const open = [...document.querySelectorAll("#main details[open]")].map((d) => d.closest("[data-number]")?.dataset.number);
  $("#main").innerHTML = await response.text();
  for (const number of open) {
    const details = $(`#main [data-number="${number}"] details`);
    if (details) details.open = true;
  }
}

document.addEventListener("focusout", () => {
  setTimeout(() => { if (pendingRefresh && !typing()) refresh(); }, 50);
});

function listen() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/admin/ws`);
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "changed") refresh();
    else if (frame.type === "notice") toast(frame.text, frame.refused);
    else if (frame.type === "message" || frame.type === "edit") answer(frame);
  });
  socket.addEventListener("close", () => setTimeout(listen, 2000));
}

// --- the bot's answers -------------------------------------------------------------------

function answer(frame) {
  const list = $("#answers");
  if (!list) return;
  let item = list.querySelector(`[data-id="${frame.id}"]`);
  if (!item) {
    item = document.createElement("li");
    item.dataset.id = frame.id;
    list.prepend(item);
  }
  item.replaceChildren();
  const body = document.createElement("div");
  body.dir = "auto";
  body.innerHTML = frame.html;  // made by the server from escaped text
  item.append(body);
  if (frame.kind === "prompt") {
    const form = document.createElement("form");
    form.className = "prompt";
    const box = document.createElement("textarea");
    box.name = "text";
    box.rows = 5;
    box.dir = "auto";
    box.value = frame.prefill || "";
    box.setAttribute("aria-label", body.textContent.slice(0, 80));
    const send = document.createElement("button");
    send.type = "submit";
    send.textContent = document.documentElement.dataset.send || "➤";
    form.append(box, send);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await post("/admin/api/text", { text: box.value })) form.remove();
    });
    item.append(form);
  }
  const rows = frame.buttons || [];
  if (rows.length) {
    const actions = document.createElement("div");
    actions.className = "actions";
    for (const row of rows) {
      for (const button of row) {
        const element = document.createElement("button");
        element.type = "button";
        element.textContent = button.label;
        element.dataset.token = button.token;
        if (button.style && button.style !== "default") element.className = button.style;
        actions.append(element);
      }
    }
    item.append(actions);
  }
  item.scrollIntoView({ block: "nearest" });
}

// --- what a facilitator does ---------------------------------------------------------------

document.addEventListener("click", async (event) => {
  const target = event.target.closest("button, a");
  if (!target) return;
  if (target.dataset.close !== undefined) {
    target.closest("form").hidden = true;
    if (pendingRefresh) refresh();
    return;
  }
  if (target.dataset.asks === "reason") {
    const form = target.closest("[data-number]").querySelector("form.reason");
    form.hidden = false;
    form.querySelector("select, textarea").focus();
    return;
  }
  if (target.dataset.token && !target.closest("form")) {
    target.disabled = true;
    await post("/admin/api/press", { token: target.dataset.token });
    target.disabled = false;
    return;
  }
  if (target.dataset.command === "unmute") {
    await post("/admin/api/command", { command: "unmute", args: target.dataset.args });
    return;
  }
  if (target.dataset.command) {
    const form = $("#main form.member-reason");
    form.dataset.command = target.dataset.command;
    form.dataset.member = target.dataset.member;
    form.hidden = false;
    form.scrollIntoView({ block: "nearest" });
    form.querySelector("textarea").focus();
    return;
  }
  if (target.dataset.pick) {
    if (await post("/admin/api/pick", { member_id: Number(target.dataset.pick) })) location.assign("/admin/queue");
    return;
  }
  if (target.dataset.signOut !== undefined) {
    await post("/admin/api/sign-out", {});
    location.assign("/admin");
  }
});

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.classList.contains("sign-in")) {
    event.preventDefault();
    if (await post("/admin/api/sign-in", { token: form.dataset.token })) location.replace("/admin/queue");
  } else if (form.classList.contains("member-reason")) {
    event.preventDefault();
    const reason = form.elements.other.value.trim();
    if (!reason) return;
    if (await post("/admin/api/command", { command: form.dataset.command, args: `#${form.dataset.member} ${reason}` })) {
      form.reset();
      form.hidden = true;
    }
  } else if (form.classList.contains("reason")) {
    event.preventDefault();
    const reason = form.elements.other.value.trim() || form.elements.reason.value;
    if (!reason) return;
    if (await post("/admin/api/press", { token: form.dataset.token, text: reason })) {
      form.hidden = true;
      refresh();
    }
  } else if (form.classList.contains("editor")) {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    await post("/admin/api/press", { token: form.dataset.token, text: form.elements.text.value });
    button.disabled = false;
    document.activeElement.blur();
    refresh();
  }
});

if (document.body.dataset.page !== "sign-in") listen();
