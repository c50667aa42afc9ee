// The chat page: streams answers from /v1/chat/completions and sends thumbs and comparisons to /feedback.
// No framework and no build step: the DOM is the view, `conversation` is the state.
"use strict";

const $ = (id) => document.getElementById(id);
const log = $("log");
const input = $("input");

let conversation = [];   // {role, content} messages sent with the next request
let lastAnswer = null;   // the answer that regenerate and compare act on
let controller = null;   // AbortController of the request streaming now
let model = "chatrlhf";

// An anonymous id per browser, so a user's thumbs on answers to one conversation can be ranked together.
const labeler = localStorage.getItem("chatrlhf.labeler") ||
  `web-${Math.random().toString(36).slice(2, 10)}`;
localStorage.setItem("chatrlhf.labeler", labeler);
$("api-key").value = localStorage.getItem("chatrlhf.apiKey") || "";
$("api-key").addEventListener("change", () => {
  localStorage.setItem("chatrlhf.apiKey", $("api-key").value.trim());
  loadModel();
});

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

// The server's message from an error response: OpenAI's {"error": {"message"}} or FastAPI's {"detail"}.
async function errorText(res) {
  const body = await res.text();
  try {
    const json = JSON.parse(body);
    const detail = json.error?.message ?? json.detail;
    return `${res.status}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`;
  } catch {
    return `${res.status}: ${body || res.statusText}`;
  }
}

async function loadModel() {
  try {
    const res = await fetch("/v1/models", { headers: headers() });
    if (!res.ok) throw new Error(await errorText(res));
    model = (await res.json()).data?.[0]?.id || model;
    $("model-name").textContent = model;
    showError("");
  } catch (e) {
    showError(`cannot list models (${e.message}); is an API key needed?`);
  }
}

// POST messages with stream: true and call onText with each piece of the answer as it arrives.
// Bytes are decoded with stream: true, so a character split across network chunks is never broken.
async function streamAnswer(messages, onText, signal) {
  const res = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: headers(),
    signal,
    body: JSON.stringify({
      model,
      messages,
      stream: true,
      temperature: Number($("temperature").value),
      max_tokens: Number($("max-tokens").value),
    }),
  });
  if (!res.ok) throw new Error(await errorText(res));
  const reader = res.body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    buffer = (buffer + decoder.decode(value || new Uint8Array(), { stream: !done })).replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new Error(chunk.error.message || JSON.stringify(chunk.error));
        const text = chunk.choices?.[0]?.delta?.content;
        if (text) onText(text);
      }
    }
    if (done) return;
  }
}

function setBusy(busy) {
  $("send").disabled = busy;
  $("stop").hidden = !busy;
  for (const b of document.querySelectorAll(".regenerate, .compare")) b.disabled = busy;
}

// Stream one answer into `textEl`; resolves to {text, state} with state "done", "stopped" or "error".
async function generate(messages, textEl, stateEl) {
  controller = new AbortController();
  setBusy(true);
  showError("");
  let text = "";
  stateEl.dataset.state = "streaming";
  try {
    await streamAnswer(messages, (piece) => {
      text += piece;
      textEl.textContent = text;
      log.lastElementChild?.scrollIntoView({ block: "end" });
    }, controller.signal);
    stateEl.dataset.state = "done";
  } catch (e) {
    stateEl.dataset.state = e.name === "AbortError" ? "stopped" : "error";
    if (e.name !== "AbortError") showError(e.message);
  } finally {
    controller = null;
    setBusy(false);
  }
  return { text, state: stateEl.dataset.state };
}

function addUserMessage(content) {
  const el = document.createElement("div");
  el.className = "msg user";
  el.textContent = content;
  log.append(el);
}

// A new answer element to the conversation as it is now; the answer joins the conversation when it ends.
async function answer() {
  const el = $("answer-template").content.firstElementChild.cloneNode(true);
  log.append(el);
  const a = { el, prompt: conversation.map((m) => ({ ...m })), text: "", ratingId: null, thumb: null, queue: Promise.resolve() };
  if (lastAnswer) retire(lastAnswer);
  lastAnswer = a;
  el.querySelector(".thumb-up").addEventListener("click", () => rate(a, "up"));
  el.querySelector(".thumb-down").addEventListener("click", () => rate(a, "down"));
  el.querySelector(".regenerate").addEventListener("click", () => regenerate(a));
  el.querySelector(".compare").addEventListener("click", () => compare(a));
  for (const box of el.querySelectorAll(".reasons input")) box.addEventListener("change", () => rate(a, "down", true));
  const { text, state } = await generate(a.prompt, el.querySelector(".text"), el);
  a.text = text;
  if (state === "error" && !text.trim()) {
    el.remove();
    lastAnswer = null;
    return;
  }
  conversation.push({ role: "assistant", content: text });
}

// Only the latest answer can be regenerated or compared: earlier ones keep their thumbs.
function retire(a) {
  a.el.querySelector(".regenerate").remove();
  a.el.querySelector(".compare").remove();
}

async function send(event) {
  event?.preventDefault();
  const content = input.value.trim();
  if (!content || controller) return;
  input.value = "";
  conversation.push({ role: "user", content });
  addUserMessage(content);
  await answer();
}

async function regenerate(a) {
  if (controller || a !== lastAnswer) return;
  conversation = a.prompt.map((m) => ({ ...m }));
  a.el.classList.add("superseded");
  await answer();
}

// Thumbs: a first press stores a rating, another thumb changes it, the same thumb again withdraws it.
// Presses are queued per answer so that a quick double press cannot store two rows.
function rate(a, thumb, reasonsChanged = false) {
  a.queue = a.queue.then(() => sendRating(a, thumb, reasonsChanged)).catch((e) => showError(`feedback not saved (${e.message})`));
  return a.queue;
}

async function sendRating(a, thumb, reasonsChanged) {
  if (!a.text.trim()) return;
  const withdraw = a.thumb === thumb && !reasonsChanged;
  const flags = thumb === "down" ? [...a.el.querySelectorAll(".reasons input:checked")].map((b) => b.value) : [];
  const body = JSON.stringify({ prompt: a.prompt, response: a.text, thumb, flags, labeler, model });
  let res;
  if (withdraw) {
    res = await fetch(`/feedback/ratings/${a.ratingId}`, { method: "DELETE", headers: headers() });
  } else if (a.ratingId !== null) {
    res = await fetch(`/feedback/ratings/${a.ratingId}`, { method: "PUT", headers: headers(), body });
  } else {
    res = await fetch("/feedback/ratings", { method: "POST", headers: headers(), body });
  }
  if (!res.ok) throw new Error(await errorText(res));
  a.ratingId = withdraw ? null : (await res.json()).id;
  a.thumb = withdraw ? null : thumb;
  a.el.querySelector(".thumb-up").setAttribute("aria-pressed", String(a.thumb === "up"));
  a.el.querySelector(".thumb-down").setAttribute("aria-pressed", String(a.thumb === "down"));
  a.el.querySelector(".reasons").hidden = a.thumb !== "down";
  if (a.thumb !== "down") for (const b of a.el.querySelectorAll(".reasons input")) b.checked = false;
}

// Compare: a second answer to the same conversation beside this one; the user's pick is stored as a
// ranking and becomes the answer the conversation goes on with.
async function compare(a) {
  if (controller || a !== lastAnswer || !a.text.trim()) return;
  const panel = $("compare-template").content.firstElementChild.cloneNode(true);
  const [left, right] = panel.querySelectorAll(".column");
  const note = panel.querySelector(".compare-note");
  const picks = panel.querySelectorAll(".pick");
  for (const p of picks) p.disabled = true;
  left.querySelector(".text").textContent = a.text;
  a.el.after(panel);
  a.el.hidden = true;
  const { text, state } = await generate(a.prompt, right.querySelector(".text"), right);
  if (state !== "done" || !text.trim() || text === a.text) {
    panel.remove();
    a.el.hidden = false;
    if (text === a.text) showError("Both answers were the same, so there is nothing to pick; raise the temperature in Settings.");
    return;
  }
  retire(a);
  lastAnswer = null;
  note.textContent = "Pick one; the conversation goes on with it.";
  for (const p of picks) p.disabled = false;
  for (const p of picks) p.addEventListener("click", () => pick(a, panel, [a.text, text], Number(p.dataset.side)));
}

async function pick(a, panel, responses, winner) {
  for (const p of panel.querySelectorAll(".pick")) p.disabled = true;
  const res = await fetch("/feedback/comparisons", {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ prompt: a.prompt, responses, winner, labeler, model }),
  });
  if (!res.ok) {
    showError(`comparison not saved (${await errorText(res)})`);
    for (const p of panel.querySelectorAll(".pick")) p.disabled = false;
    return;
  }
  panel.querySelectorAll(".column")[winner].classList.add("chosen");
  panel.querySelector(".compare-note").textContent = `Saved: you picked the ${winner === 0 ? "left" : "right"} answer.`;
  panel.dataset.state = "picked";
  conversation[conversation.length - 1] = { role: "assistant", content: responses[winner] };
}

function newChat() {
  controller?.abort();
  conversation = [];
  lastAnswer = null;
  log.replaceChildren();
  showError("");
  input.focus();
}

$("composer").addEventListener("submit", send);
$("settings-form").addEventListener("submit", (e) => e.preventDefault());
$("stop").addEventListener("click", () => controller?.abort());
$("new-chat").addEventListener("click", newChat);
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) send(e);
});
loadModel();
