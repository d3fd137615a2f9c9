// The review workspace's keyboard shortcuts and media reveal. No framework, nothing loaded from elsewhere.
(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }

  function article() { return document.querySelector("article[data-reveal-url]"); }
  function csrfBody(extra) {
    var params = new URLSearchParams({ csrf: article().getAttribute("data-csrf") });
    Object.keys(extra || {}).forEach(function (k) { params.set(k, extra[k]); });
    return params;
  }
  function post(url, extra) {
    return fetch(url, { method: "POST", body: csrfBody(extra), credentials: "same-origin", cache: "no-store" });
  }

  // Each reveal is recorded (audit log, today's exposure). A picture with a sharp copy and the masked
  // words are fetched on reveal from endpoints that record it first; a picture without one (only
  // its blurred thumbnail was kept) is unblurred here and the reveal reported.
  function report(what) {
    if (article()) post(article().getAttribute("data-reveal-url"), { what: what });
  }

  function setButton(id, shown, fallback) {
    var button = byId(id);
    if (!button) return;
    button.setAttribute("aria-pressed", shown ? "true" : "false");
    button.firstChild.textContent = (shown ? "Hide " : "Reveal ") + (button.getAttribute("data-what") || fallback) + " ";
  }

  var mediaShown = false;
  function showSharp(img) {
    post(img.getAttribute("data-sharp")).then(function (answer) {
      if (!answer.ok) throw new Error(answer.status);
      return answer.blob();
    }).then(function (blob) {
      if (!mediaShown) return;  // hidden again while it came
      if (!img.hasAttribute("data-blurred")) img.setAttribute("data-blurred", img.getAttribute("src"));
      img.src = URL.createObjectURL(blob);
      img.classList.add("sharp");
      img.classList.remove("wellness");
    }).catch(function () {  // gone (media retention) or refused: the blurred thumbnail, unblurred
      if (mediaShown) { img.classList.remove("wellness"); report("media"); }
    });
  }
  function hideSharp(img) {
    if (img.classList.contains("sharp")) {
      URL.revokeObjectURL(img.src);
      img.src = img.getAttribute("data-blurred");
      img.classList.remove("sharp");
    }
    img.classList.add("wellness");
  }
  function setMedia(show, quiet) {
    var pictures = document.querySelectorAll("img[data-media]");
    if (!pictures.length) return;
    mediaShown = show;
    var blurredOnly = 0;
    pictures.forEach(function (img) {
      if (img.hasAttribute("data-sharp")) { if (show) showSharp(img); else hideSharp(img); }
      else { img.classList.toggle("wellness", !show); blurredOnly += 1; }
    });
    if (show && blurredOnly && !quiet) report("media");  // quiet: shown by the settings, audited by the page
    setButton("reveal", show, "media");
  }
  function toggleReveal() { setMedia(!mediaShown); }

  var wordsShown = false;
  function setWords(show) {
    var marks = document.querySelectorAll("mark[data-word]");
    if (!marks.length) return;
    wordsShown = show;
    setButton("reveal-words", show, "words");
    if (!show) {
      marks.forEach(function (m) { m.textContent = m.getAttribute("data-mask"); m.classList.add("masked"); });
      return;
    }
    post(article().getAttribute("data-words-url")).then(function (answer) {
      if (!answer.ok) throw new Error(answer.status);
      return answer.json();
    }).then(function (body) {
      if (!wordsShown) return;
      marks.forEach(function (m, i) {
        if (i < body.words.length) { m.textContent = body.words[i]; m.classList.remove("masked"); }
      });
    }).catch(function () { wordsShown = false; setButton("reveal-words", false, "words"); });
  }
  function toggleWords() { setWords(!wordsShown); }

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
    // Not hidden by the reviewer's wellness settings: shown (sharp, where kept) from the start.
    if (reveal && reveal.getAttribute("aria-pressed") === "true") setMedia(true, true);
    document.querySelectorAll("mark[data-word]").forEach(function (m) { m.setAttribute("data-mask", m.textContent); });
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
