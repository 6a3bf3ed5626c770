/*
 * The module viewer's "Mark complete" flow and the "Module completed" dialog.
 *
 * The form works without JavaScript (it posts and the server redirects). With htmx it posts in place;
 * the server answers with the "Completed" state of the button plus out-of-band updates of the stage
 * bar, the drawer, the fraction and, when the module was just finished, the dialog. If the request
 * cannot be sent or the server answers with an error, the lens stays "Mark complete", a message says
 * so, and the click is retried when the connection returns (the `online` event) or after a growing
 * delay, whichever comes first.
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
    say(
      navigator.onLine === false
        ? "You are offline, so this lens is not marked complete yet. It will be saved when the connection returns."
        : "The server could not be reached, so this lens is not marked complete yet. Trying again shortly…"
    );
    scheduleRetry();
  });

  document.addEventListener("htmx:responseError", function (event) {
    if (!isCompleteForm(event.detail.elt)) {
      return;
    }
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status >= 500) {
      say("The server had a problem saving this, so this lens is not marked complete yet. Trying again shortly…");
      scheduleRetry();
    } else if (status === 403) {
      say("This page has expired, so the lens was not marked complete. Reload the page and try again.");
    } else {
      say("This lens could not be marked complete (error " + status + "). Reload the page and try again.");
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (isCompleteForm(event.detail.elt) && event.detail.successful) {
      clearTimeout(retryTimer);
      retryTimer = null;
      retryCount = 0;
    }
  });

  window.addEventListener("online", function () {
    if (retryTimer !== null) {
      retry();
    }
  });

  // The dialog is rendered open (so it shows without JavaScript); make it modal here.
  function openDialogs(root) {
    var dialogs = root.querySelectorAll ? root.querySelectorAll("dialog[data-modal]") : [];
    Array.prototype.forEach.call(dialogs, function (dialog) {
      if (dialog.dataset.shown) {
        return;
      }
      dialog.dataset.shown = "true";
      if (typeof dialog.showModal === "function") {
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

  htmx.onLoad(function (root) {
    openDialogs(root);
    collapseDrawerOnPhones(root);
  });
})();
