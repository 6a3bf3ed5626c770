/*
 * Timed questions (`max-time::`): the countdown of a started question box (`[data-seconds-left]`, set by
 * chat/question.html from the server's start time, so a reload or another device shows the same time).
 * At zero the box locks and what is written is saved as the answer (the form is submitted through HTMX,
 * which swaps in the server's locked box). The server refuses saves after the deadline plus a grace, so
 * this script is a convenience, not the rule.
 */
(function () {
  "use strict";

  function format(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function timeUp(box) {
    var form = box.querySelector("form.question-box__form");
    var textarea = form && form.querySelector("textarea");
    var label = box.querySelector("[data-countdown]");
    if (label) {
      label.textContent = "Time is up: saving what you have written as your answer…";
      label.classList.add("question-box__timer--up");
    }
    if (!textarea) {
      return;
    }
    textarea.readOnly = true;
    form.querySelectorAll("button").forEach(function (button) {
      button.disabled = true;
    });
    document.dispatchEvent(new CustomEvent("voice:stop"));
    if (window.htmx) {
      window.htmx.ajax("POST", form.getAttribute("action"), { source: form, target: "#" + box.id, swap: "outerHTML" });
    } else {
      form.submit();
    }
  }

  function start(box) {
    if (box.dataset.countdownRunning) {
      return;
    }
    box.dataset.countdownRunning = "1";
    var end = Date.now() + Number(box.dataset.secondsLeft) * 1000;
    var left = box.querySelector("[data-countdown-left]");
    var timer = null;
    function tick() {
      if (!document.body.contains(box)) {
        clearInterval(timer);
        return;
      }
      var seconds = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      if (left) {
        left.textContent = format(seconds);
      }
      if (seconds <= 0) {
        clearInterval(timer);
        timeUp(box);
      }
    }
    timer = setInterval(tick, 250);
    tick();
  }

  function scan(root) {
    (root.querySelectorAll ? root.querySelectorAll("[data-seconds-left]") : []).forEach(start);
    if (root.matches && root.matches("[data-seconds-left]")) {
      start(root);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    scan(document);
  });
  document.addEventListener("htmx:load", function (event) {
    scan(event.target);
  });
})();
