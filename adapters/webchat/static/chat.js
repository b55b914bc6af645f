// The web chat page: pick who you are, then chat with the bot over a WebSocket.
// Everything a person or the bot wrote is inserted as text (textContent), never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { socket: null, retry: 0, replyTo: null, bubbles: new Map(), me: null, closing: false, words: {} };

// The page's own words, from the bot's catalogs in the browser's language.
const _ = (text) => state.words[text] || text;

async function translatePage() {
  const texts = await api("/api/texts");
  state.words = texts.words;
  document.documentElement.lang = texts.language;
  document.documentElement.dir = texts.dir;
  for (const element of document.querySelectorAll("[data-text]")) element.textContent = _(element.dataset.text);
  for (const element of document.querySelectorAll("[data-placeholder]")) element.placeholder = _(element.dataset.placeholder);
  for (const element of document.querySelectorAll("[data-label]")) element.setAttribute("aria-label", _(element.dataset.label));
}

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", headers: { "Content-Type": "application/json" }, ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || _("The server answered {status}").replace("{status}", response.status));
  return body;
}

async function begin() {
  const session = await api("/api/session");
  if (session.me) {
    state.me = session.me;
    await openChat(false);
  } else {
    showPicker(session);
  }
}

function showPicker(session) {
  $("chat").hidden = true;
  $("switch").hidden = true;
  $("pick").hidden = false;
  $("status").textContent = _("choose who you are");
  // Facilitators first: the demo starts with one of them approving a question.
  $("pick").insertBefore($("facilitators-block"), $("members-block"));
  const members = $("members"), facilitators = $("facilitators");
  members.replaceChildren();
  facilitators.replaceChildren();
  for (const person of session.people) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "person";
    const name = document.createElement("strong");
    name.textContent = person.name;
    const description = document.createElement("span");
    description.textContent = person.description;
    button.append(name, description);
    button.addEventListener("click", () => pick(person.user_id));
    (person.facilitator ? facilitators : members).append(button);
  }
  $("members-block").hidden = !session.demo;
  $("facilitators-block").hidden = !session.demo;
  if (!session.demo) $("pick-hint").textContent = _("Join the network as a new member.");
}

async function pick(userId) {
  $("pick-error").textContent = "";
  try {
    const chosen = await api("/api/identity", { method: "POST", body: JSON.stringify({ user_id: userId }) });
    state.me = chosen;
    await openChat(chosen.new);
  } catch (error) {
    $("pick-error").textContent = error.message;
  }
}

async function openChat(isNew) {
  $("pick").hidden = true;
  $("chat").hidden = false;
  $("switch").hidden = false;
  $("messages").replaceChildren();
  state.bubbles.clear();
  const history = await api("/api/transcript");
  for (const entry of history) show(entry, entry.from_bot);
  connect(isNew ? "/start" : null);
  $("message").focus();
}

function connect(firstText) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    state.retry = 0;
    $("status").textContent = state.me && state.me.name ? _("online as {name}").replace("{name}", state.me.name) : _("online");
    if (firstText) sendText(firstText, false);
  });
  socket.addEventListener("message", (event) => receive(JSON.parse(event.data)));
  socket.addEventListener("close", (event) => {
    if (state.closing) return;
    if (event.code === 1009) toast(_("That message was too large to send."));
    $("status").textContent = _("reconnecting…");
    const wait = Math.min(10000, 500 * 2 ** state.retry++);
    setTimeout(() => { if (!state.closing && !$("chat").hidden) connect(null); }, wait);
  });
}

function receive(frame) {
  if (frame.type === "message") {
    show(frame, true);
    // A prompt to change a text: the current text is put in the composer, ready to edit.
    if (frame.kind === "prompt" && frame.prefill && !$("message").value) $("message").value = frame.prefill;
  }
  else if (frame.type === "edit") edit(frame);
  else if (frame.type === "notice") toast(frame.text);
  else if (frame.type === "error") toast(frame.text);
}

function show(entry, fromBot) {
  const item = document.createElement("li");
  item.className = `bubble ${fromBot ? "bot" : "me"}`;
  item.dataset.id = entry.id;
  fill(item, entry, fromBot);
  $("messages").append(item);
  state.bubbles.set(entry.id, item);
  item.scrollIntoView({ block: "end" });
}

function edit(frame) {
  const item = state.bubbles.get(frame.id);
  if (item) fill(item, frame, true);
}

function fill(item, entry, fromBot) {
  item.replaceChildren();
  const body = document.createElement("div");
  body.dir = "auto";
  for (const span of entry.spans) {
    let node = document.createElement(span.link ? "a" : span.code ? "pre" : "span");
    node.textContent = span.text;
    if (span.link) { node.href = span.link; node.rel = "noopener noreferrer"; node.target = "_blank"; }
    if (span.bold) { const strong = document.createElement("strong"); strong.append(node); node = strong; }
    if (span.italic) { const em = document.createElement("em"); em.append(node); node = em; }
    body.append(node);
  }
  item.append(body);
  if (entry.document) {
    const file = document.createElement("a");
    file.className = "document";
    file.href = entry.document.url;
    file.download = entry.document.name;
    file.textContent = entry.document.name;
    item.append(file);
  }
  if (entry.buttons && entry.buttons.length) {
    const buttons = document.createElement("div");
    buttons.className = "buttons";
    for (const row of entry.buttons) {
      const line = document.createElement("div");
      line.className = "row";
      for (const button of row) {
        const element = document.createElement("button");
        element.type = "button";
        element.textContent = button.label;
        if (button.style && button.style !== "default") element.className = button.style;
        element.addEventListener("click", () => press(button.token, entry.id));
        line.append(element);
      }
      buttons.append(line);
    }
    item.append(buttons);
  }
  if (fromBot) {
    const meta = document.createElement("div");
    meta.className = "meta";
    const reply = document.createElement("button");
    reply.type = "button";
    reply.className = "reply-link";
    reply.textContent = _("Reply to this");
    reply.addEventListener("click", () => startReply(entry.id, body.textContent));
    meta.append(reply);
    item.append(meta);
  }
}

function startReply(id, text) {
  state.replyTo = id;
  $("replying-text").textContent = _("Replying to: {text}").replace("{text}", text.slice(0, 80));
  $("replying").hidden = false;
  $("message").focus();
}

function stopReply() {
  state.replyTo = null;
  $("replying").hidden = true;
}

function press(token, messageId) {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) { toast(_("Not connected yet: try again in a moment.")); return; }
  state.socket.send(JSON.stringify({ type: "press", token, message_id: messageId }));
}

function sendText(text, echo = true) {
  if (!state.socket || state.socket.readyState !== WebSocket.OPEN) { toast(_("Not connected yet: try again in a moment.")); return false; }
  state.socket.send(JSON.stringify({ type: "text", text, reply_to: state.replyTo }));
  if (echo) show({ id: `me-${Date.now()}`, spans: [{ text }], buttons: [] }, false);
  stopReply();
  return true;
}

function toast(text) {
  const element = $("toast");
  element.textContent = text;
  element.hidden = false;
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(() => { element.hidden = true; }, 3500);
}

document.addEventListener("DOMContentLoaded", () => {
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("message").value.trim();
    if (text && sendText(text)) $("message").value = "";
  });
  // With a physical keyboard Enter sends (Shift+Enter for a new line); on a phone's keyboard
  // Enter makes a new line and the Send button sends, as in the phone's own chat apps.
  const touchKeyboard = window.matchMedia("(pointer: coarse)");
  $("message").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !touchKeyboard.matches) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("cancel-reply").addEventListener("click", stopReply);
  $("new-member").addEventListener("click", () => pick("new"));
  $("switch").addEventListener("click", async () => {
    state.closing = true;
    if (state.socket) state.socket.close();
    await api("/api/forget", { method: "POST", body: "{}" });
    state.closing = false;
    state.me = null;
    showPicker(await api("/api/session"));
  });
  translatePage().catch(() => {}).then(begin).catch((error) => { $("status").textContent = error.message; });
});
