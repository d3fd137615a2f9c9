// The review workspace's keyboard shortcuts and media reveal. No framework, nothing loaded from elsewhere.
(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }

  function toggleReveal() {
    var image = byId("case-image"), button = byId("reveal");
    if (!image) return;
    var revealed = image.classList.toggle("wellness") === false;
    if (revealed) report();
    if (button) {
      button.setAttribute("aria-pressed", revealed ? "true" : "false");
      button.firstChild.textContent = revealed ? "Hide image " : "Reveal image ";
    }
  }

  // Each reveal is recorded (audit log, today's exposure); the image shows whether or not that lands.
  function report() {
    var article = document.querySelector("article[data-reveal-url]");
    if (!article) return;
    var body = new URLSearchParams({ csrf: article.getAttribute("data-csrf") });
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
