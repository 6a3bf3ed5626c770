/*
 * The module viewer's "Mark complete" flow and the "Module completed" dialog.
 *
 * The form works without JavaScript (it posts and the server redirects). With htmx it posts in place;
 * the server answers with the "Completed" state of the button plus out-of-band updates of the stage
 * bar, the drawer, the fraction and, when the module was just finished, the dialog. The page never moves
 * on by itself: the focus goes to the "Next: <title>" button. If the request
 * cannot be sent or the server answers with an error, the lens stays "Mark complete", a message says
 * so, and the click is retried when the connection returns (the `online` event) or after a growing
 * delay, whichever comes first.
 *
 * A test has "Submit test" instead (`data-test-submit-form`, handled the same way): answers typed but not
 * saved yet are sent along with it as `answer-<question key>` fields, so the learner need not press
 * "Save answer" on each question first.
 *
 * Segments that a chat hides from the learner once its discussion starts (`details[data-chat-fold]`,
 * hidePreviousContentFromUser) fold away when the first message is sent (`courseplatform:chat-sent`).
 */
(function () {
  "use strict";

  var RETRY_DELAYS_MS = [3000, 6000, 12000, 30000, 60000];
  var retryTimer = null;
  var retryCount = 0;

  function isCompleteForm(elt) {
    return !!(elt && elt.matches && elt.matches("[data-complete-form]"));
  }

  function currentForm() {
    return document.querySelector("[data-complete-form]");
  }

  // "this lens is not marked complete yet", or the form's own wording (a test is "not submitted").
  function notDone(form) {
    return (form && form.getAttribute("data-not-done")) || "this lens is not marked complete yet";
  }

  function say(text) {
    var status = document.querySelector("[data-complete-status]");
    if (status) {
      status.textContent = text;
    }
  }

  function retry() {
    clearTimeout(retryTimer);
    retryTimer = null;
    var form = currentForm();
    if (form) {
      say("Trying again to save…");
      htmx.trigger(form, "submit");
    }
  }

  function scheduleRetry() {
    clearTimeout(retryTimer);
    var delay = RETRY_DELAYS_MS[Math.min(retryCount, RETRY_DELAYS_MS.length - 1)];
    retryCount += 1;
    retryTimer = setTimeout(retry, delay);
  }

  document.addEventListener("htmx:sendError", function (event) {
    if (!isCompleteForm(event.detail.elt)) {
      return;
    }
    var pending = notDone(event.detail.elt);
    say(
      navigator.onLine === false
        ? "You are offline, so " + pending + ". It will be saved when the connection returns."
        : "The server could not be reached, so " + pending + ". Trying again shortly…"
    );
    scheduleRetry();
  });

  document.addEventListener("htmx:responseError", function (event) {
    if (!isCompleteForm(event.detail.elt)) {
      return;
    }
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var pending = notDone(event.detail.elt);
    if (status >= 500) {
      say("The server had a problem saving this, so " + pending + ". Trying again shortly…");
      scheduleRetry();
    } else if (status === 403) {
      say("This page has expired, so " + pending + ". Reload the page and try again.");
    } else {
      say("That did not work (error " + status + "), so " + pending + ". Reload the page and try again.");
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (isCompleteForm(event.detail.elt) && event.detail.successful) {
      clearTimeout(retryTimer);
      retryTimer = null;
      retryCount = 0;
    }
  });

  // "Submit test" sends the answers typed but not saved yet along (the server saves them first).
  document.addEventListener("htmx:configRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("[data-test-submit-form]")) {
      return;
    }
    document.querySelectorAll("[data-question] textarea:not([readonly])").forEach(function (textarea) {
      var key = textarea.closest("[data-question]").getAttribute("data-question");
      // A restored draft (data-question-draft-restored) is not the saved answer either: send it too.
      if (key && (textarea.value !== textarea.defaultValue || textarea.hasAttribute("data-question-draft-restored"))) {
        event.detail.parameters["answer-" + key] = textarea.value;
      }
    });
  });

  // A chat's discussion started: fold away the segments it hides from the learner (they can reopen them).
  document.addEventListener("courseplatform:chat-sent", function () {
    document.querySelectorAll("details[data-chat-fold]:not(.segment-fold--folded)").forEach(function (fold) {
      fold.classList.add("segment-fold--folded");
      fold.removeAttribute("open");
    });
    document.querySelectorAll("[data-chat-fold-note]").forEach(function (note) {
      note.remove();
    });
  });

  window.addEventListener("online", function () {
    if (retryTimer !== null) {
      retry();
    }
  });

  // Where focus goes when the element that had it was swapped away (the "Mark complete" button, now
  // "Completed"): whatever the new completion state offers to go on with, else its "Completed" line.
  function completionFocusTarget() {
    var selectors = ["#complete a[href]", "#complete button:not([disabled])", "#complete [tabindex='-1']", "#lens-title"];
    for (var i = 0; i < selectors.length; i += 1) {
      var found = document.querySelector(selectors[i]);
      if (found) {
        return found;
      }
    }
    return null;
  }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !active.isConnected;
  }

  // After "Mark complete" focus never falls to <body> (the button it was on is swapped away): right after
  // the swap it moves on; an element the new state focused itself (autofocus, a dialog) keeps it.
  document.addEventListener("htmx:afterSwap", function (event) {
    if ((isCompleteForm(event.detail.elt) || event.target.id === "complete") && focusLost()) {
      var target = completionFocusTarget();
      if (target) {
        target.focus();
      }
    }
  });

  // The dialog is rendered open (so it shows without JavaScript); make it modal here. Closing it
  // (Escape, or its form) returns focus to what opened it, or to its replacement when that was swapped.
  function openDialogs(root) {
    var dialogs = root.querySelectorAll ? root.querySelectorAll("dialog[data-modal]") : [];
    Array.prototype.forEach.call(dialogs, function (dialog) {
      if (dialog.dataset.shown) {
        return;
      }
      dialog.dataset.shown = "true";
      if (typeof dialog.showModal === "function") {
        // Rendered open, the dialog may have focused its own autofocus link already: that opened nothing.
        var opener = focusLost() || dialog.contains(document.activeElement) ? null : document.activeElement;
        dialog.addEventListener("close", function () {
          if (dialog.open) {
            return; // the close() just below, before showModal()
          }
          var target = opener && opener.isConnected ? opener : completionFocusTarget();
          if (target) {
            target.focus();
          }
        });
        dialog.close();
        dialog.showModal();
      }
    });
  }

  // On a phone the drawer starts closed: the stage bar above is enough to find one's way.
  function collapseDrawerOnPhones(root) {
    var drawer = root.querySelector ? root.querySelector("details.drawer") : null;
    if (drawer && window.matchMedia("(max-width: 55.99rem)").matches) {
      drawer.removeAttribute("open");
    }
  }

  // After "Mark complete" the page stays on the lens: focus goes to its "Next: <title>" button (unless the
  // "Module completed" dialog opened, which takes the focus itself).
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    if (!config || !isCompleteForm(config.elt)) {
      return;
    }
    var next = document.querySelector("#complete [data-next-step]");
    if (next && !document.querySelector("dialog[open]")) {
      next.focus();
    }
  });

  // The sticky stage bar's height, for the page's scroll-padding-top (site.css): a focused element is
  // never scrolled under the bar, however many rows of stage dots it has at this width.
  var stageBarObserver = typeof ResizeObserver === "function" ? new ResizeObserver(measureStageBar) : null;
  function measureStageBar() {
    var bar = document.getElementById("stage-bar");
    var height = bar && bar.isConnected ? bar.getBoundingClientRect().height : 0;
    document.documentElement.style.setProperty("--stage-bar-height", Math.ceil(height) + "px");
  }
  function watchStageBar() {
    var bar = document.getElementById("stage-bar");
    if (stageBarObserver) {
      stageBarObserver.disconnect();
      if (bar) {
        stageBarObserver.observe(bar);
      }
    }
    measureStageBar();
  }

  htmx.onLoad(function (root) {
    watchStageBar();
    openDialogs(root);
    collapseDrawerOnPhones(root);
  });
})();
