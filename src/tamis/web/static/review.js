// The review workspace's keyboard shortcuts and media reveal. No framework, nothing loaded from elsewhere.
(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }

  // Media (the image, a video's frames) and flagged words are revealed and hidden again together.
  function toggle(selector, hiddenClass, buttonId, what) {
    var shown = document.querySelectorAll(selector), button = byId(buttonId);
    if (!shown.length) return;
    var revealed = shown[0].classList.contains(hiddenClass);
    shown.forEach(function (el) { el.classList.toggle(hiddenClass, !revealed); });
    if (revealed) report(what);
    if (button) {
      button.setAttribute("aria-pressed", revealed ? "true" : "false");
      button.firstChild.textContent = (revealed ? "Hide " : "Reveal ") + (button.getAttribute("data-what") || what) + " ";
    }
  }
  function toggleReveal() { toggle("img[data-media]", "wellness", "reveal", "media"); }
  function toggleWords() { toggle("mark[data-word]", "masked", "reveal-words", "words"); }

  // Each reveal is recorded (audit log, today's exposure); what it shows shows whether or not that lands.
  function report(what) {
    var article = document.querySelector("article[data-reveal-url]");
    if (!article) return;
    var body = new URLSearchParams({ csrf: article.getAttribute("data-csrf"), what: what });
    fetch(article.getAttribute("data-reveal-url"), { method: "POST", body: body, credentials: "same-origin" });
  }

  function toggleHelp(show) {
    var help = byId("shortcuts");
    if (help) help.hidden = show === undefined ? !help.hidden : !show;
  }

  function submit(formId, buttonId) {
    var form = byId(formId);
    if (!form) return;
    if (form.requestSubmit) form.requestSubmit(buttonId ? byId(buttonId) : undefined); else form.submit();
  }

  function choose(id) {
    var radio = byId(id);
    if (radio) { radio.checked = true; radio.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var reveal = byId("reveal");
    if (reveal) reveal.addEventListener("click", toggleReveal);
    var words = byId("reveal-words");
    if (words) words.addEventListener("click", toggleWords);
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "TEXTAREA" || target.tagName === "SELECT" ||
      (target.tagName === "INPUT" && target.type !== "radio" && target.type !== "checkbox"));
    if (event.key === "Escape") { toggleHelp(false); if (typing) target.blur(); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    var actions = {
      "?": function () { toggleHelp(); },
      "r": toggleReveal,
      "w": toggleWords,
      "u": function () { choose("action-uphold"); },
      "o": function () { choose("action-overturn"); },
      "s": function () { submit("decide", "submit-next"); },
      "k": function () { submit("skip"); },
      "h": function () { submit("hold"); },
      "e": function () { submit("escalate"); }
    };
    var action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });
})();
