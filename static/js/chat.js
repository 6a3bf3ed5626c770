/*
 * The tutor chat and question answers (templates chat/lens_chat.html and chat/question.html).
 *
 * Load it with `defer` after htmx on any page that includes those templates, with static/css/chat.css.
 * Everything works without it as plain forms (the server then waits for the whole reply and redirects
 * back); with it:
 *
 * - Sending is an htmx POST that returns the saved message and a reply placeholder
 *   (`[data-chat-reply]`). This script POSTs to that URL with `Accept: application/x-ndjson` and reads
 *   the streamed body, one JSON object a line:
 *     {"event": "started", "poll": "<url>"}     the reply is being generated; the URL shows it as it stands
 *     {"event": "delta", "text": "..."}          a piece of the reply, shown as it comes
 *     {"event": "done", "html": "<li>...</li>"}   the saved reply, replacing the placeholder
 *     {"event": "error", "message": "...", "html": "...", "message_html": "..."}  a failure; the html holds
 *                                                "Try again", message_html the part of the reply that arrived
 *   The reply is generated and saved on the server whatever the page does. When the stream breaks off
 *   (a lost connection), the placeholder polls the `poll` URL with htmx until the reply is done; so does
 *   a reply still being generated when the page is loaded (`[data-chat-polling]`, in the templates).
 *   "Try again" (`form[data-chat-retry]`) posts to the same reply URL, which answers the saved message
 *   again without saving it twice. "Get feedback" (`button[data-chat-feedback]`) streams the same way;
 *   buttons marked `data-chat-feedback-autostart` (a test just submitted) are "pressed" on load, one
 *   question after another.
 * - Refusals (message too long, rate limit, no tutor) come back with a 4xx/5xx status and the header
 *   `X-Chat-Refusal`; their message is shown in the chat's status line (`#<id>-status`).
 * - It dispatches `courseplatform:activity` (bubbling, so listeners on `document` hear it) while the
 *   learner types, when they send, and while a reply streams, so static/js/activity.js counts the time.
 * - After a message is sent it dispatches `courseplatform:chat-sent` (bubbling) from the chat, so the page
 *   can react to a conversation starting (the module viewer folds away what a chat hides).
 * - A roleplay (roleplay/roleplay.html) is a chat widget too, marked `data-roleplay`: `data-chat-still`
 *   says what a reply being generated says; its "Finish conversation" is revealed after the first send
 *   like "Start a new conversation" (`data-chat-new`).
 * - It builds no markup: what it inserts is the server's, either a response or a clone of the widget's
 *   `<template data-chat-template>` elements (chat/_script_templates.html) with their text filled in.
 * - The CSRF token is the page's (`courseplatform.csrfToken()`, static/js/site.js).
 */
(function () {
  "use strict";

  var STREAM_TYPE = "application/x-ndjson";
  var ACTIVITY_EVERY_MS = 1000;
  var lastActivity = 0;

  function activity(element, force) {
    var now = Date.now();
    if (!force && now - lastActivity < ACTIVITY_EVERY_MS) {
      return;
    }
    lastActivity = now;
    (element || document).dispatchEvent(new CustomEvent("courseplatform:activity", { bubbles: true }));
  }

  function widgetOf(element) {
    return element && element.closest ? element.closest("[data-chat], [data-question]") : null;
  }

  function statusOf(widget) {
    return widget ? document.getElementById(widget.id + "-status") : null;
  }

  // A clone of the widget's `<template data-chat-template="name">` element, its text set when given.
  function fromTemplate(widget, name, text) {
    var selector = 'template[data-chat-template="' + name + '"]';
    var template = (widget && widget.querySelector(selector)) || document.querySelector(selector);
    var element = template.content.firstElementChild.cloneNode(true);
    if (text !== undefined) {
      element.textContent = text;
    }
    return element;
  }

  // The server's html (a refusal, "Try again") in the widget's status line.
  function showStatus(widget, html) {
    var status = statusOf(widget);
    if (status) {
      status.innerHTML = html;
    }
  }

  // One of the widget's notices (`name`: error, saved, draft-saved) in its status line, saying `text`.
  function showNotice(widget, name, text) {
    var status = statusOf(widget);
    if (status) {
      status.replaceChildren(fromTemplate(widget, name, text));
    }
  }

  function showText(widget, text) {
    showNotice(widget, "error", text);
  }

  function setBusy(widget, busy) {
    if (!widget) {
      return;
    }
    widget.toggleAttribute("data-busy", busy);
    widget.querySelectorAll("[data-chat-form] button[type=submit], [data-chat-feedback]").forEach(function (b) {
      if (busy) {
        b.setAttribute("disabled", "");
      } else if (!b.hasAttribute("data-chat-off")) {
        b.removeAttribute("disabled");
      }
    });
  }

  // POST `body` to `url` and call on.delta / on.done / on.error for each streamed line; on.refused gets
  // (status, html-or-null) when the server refused before streaming.
  function stream(url, body, on) {
    var waiting = setInterval(function () {
      activity(on.element, true);
    }, 5000);
    function finish() {
      clearInterval(waiting);
    }
    return fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: STREAM_TYPE, "X-CSRFToken": window.courseplatform.csrfToken() },
    })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf(STREAM_TYPE) === -1) {
          return response.text().then(function (text) {
            on.refused(response.status, response.headers.has("X-Chat-Refusal") ? text : null);
          });
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function handle(line) {
          if (!line.trim()) {
            return;
          }
          var event = JSON.parse(line);
          activity(on.element);
          if (event.event === "started") {
            on.started(event.poll);
          } else if (event.event === "delta") {
            on.delta(event.text);
          } else if (event.event === "done") {
            on.done(event.html);
          } else if (event.event === "error") {
            on.error(event.html, event.message_html);
          }
        }
        function pump() {
          return reader.read().then(function (result) {
            buffer += decoder.decode(result.value || new Uint8Array(), { stream: !result.done });
            var lines = buffer.split("\n");
            buffer = lines.pop();
            lines.forEach(handle);
            if (result.done) {
              handle(buffer);
              return;
            }
            return pump();
          });
        }
        return pump();
      })
      .catch(function () {
        on.lost();
      })
      .finally(finish);
  }

  // The reply placeholder `li` gets the tutor's reply streamed into it.
  function startReply(placeholder) {
    if (placeholder.hasAttribute("data-started")) {
      return;
    }
    placeholder.setAttribute("data-started", "");
    var widget = widgetOf(placeholder);
    var form = placeholder.querySelector("[data-chat-reply-fallback]");
    var text = placeholder.querySelector("[data-chat-reply-text]");
    var body = new FormData(form);
    form.hidden = true;
    setBusy(widget, true);
    placeholder.scrollIntoView({ block: "nearest" });
    var settled = false;
    var poll = placeholder.getAttribute("data-chat-reply-poll");
    function fail(render) {
      settled = true;
      placeholder.remove();
      render();
      setBusy(widget, false);
    }
    // The server goes on generating the reply: show it as it stands, polled, until it is done.
    function followInstead() {
      settled = true;
      setBusy(widget, false);
      if (!poll || !window.htmx) {
        placeholder.remove();
        showText(widget, "The connection was lost before the reply finished. The tutor's reply is still being saved: reload the page to see it.");
        return;
      }
      pollInstead(placeholder, poll, widget, widget.getAttribute("data-chat-still") || "The tutor is still replying…");
    }
    stream(placeholder.getAttribute("data-chat-reply"), body, {
      element: placeholder,
      started: function (url) {
        poll = url || poll;
      },
      delta: function (piece) {
        text.textContent += piece;
      },
      done: function (html) {
        settled = true;
        placeholder.insertAdjacentHTML("afterend", html);
        var saved = placeholder.nextElementSibling;
        placeholder.remove();
        setBusy(widget, false);
        if (saved) {
          saved.scrollIntoView({ block: "nearest" });
        }
      },
      error: function (html, kept) {
        fail(function () {
          if (kept) {
            var list = document.getElementById(widget.id + "-messages");
            if (list) {
              list.insertAdjacentHTML("beforeend", kept);
            }
          }
          showStatus(widget, html);
        });
      },
      refused: function (status, html) {
        fail(function () {
          if (html) {
            showStatus(widget, html);
          } else {
            showText(widget, "The tutor's reply could not be fetched (HTTP " + status + "). Reload the page.");
          }
        });
      },
      lost: followInstead,
    }).then(function () {
      if (!settled) {
        followInstead();
      }
    });
  }

  // Turn `element` into one that htmx refreshes from `url` every second (the server's view of a reply
  // being generated), replacing itself with the finished reply.
  function pollInstead(element, url, widget, notice) {
    element.setAttribute("hx-get", url);
    element.setAttribute("hx-trigger", "every 1s");
    element.setAttribute("hx-target", "this");
    element.setAttribute("hx-swap", "outerHTML");
    element.setAttribute("data-chat-polling", "");
    element.querySelectorAll("form").forEach(function (f) {
      f.remove();
    });
    element.appendChild(fromTemplate(widget, "still", notice));
    window.htmx.process(element);
  }

  // "Try again": a fresh placeholder after the last message, streaming a new reply to the saved message.
  function retry(form) {
    var widget = widgetOf(form);
    var list = widget && document.getElementById(widget.id + "-messages");
    if (!list) {
      form.submit();
      return;
    }
    var placeholder = fromTemplate(widget, "reply");
    placeholder.setAttribute("data-chat-reply", form.getAttribute("action"));
    var fallback = form.cloneNode(true);
    fallback.removeAttribute("data-chat-retry");
    fallback.setAttribute("data-chat-reply-fallback", "");
    placeholder.appendChild(fallback);
    showStatus(widget, "");
    list.appendChild(placeholder);
    activity(widget, true);
    startReply(placeholder);
  }

  // Stream the tutor's feedback on the button's answer; returns the stream's promise (null: no box).
  function feedback(button) {
    var widget = widgetOf(button);
    var form = button.form;
    var target = widget && document.getElementById(widget.id + "-feedback");
    if (!target) {
      return null;
    }
    var live = fromTemplate(widget, "feedback");
    live.querySelector(".question-feedback__title").textContent = "Tutor feedback";
    var text = live.querySelector("[data-chat-feedback-text]");
    target.replaceChildren(live);
    showStatus(widget, "");
    setBusy(widget, true);
    activity(widget, true);
    function end(render) {
      render();
      setBusy(widget, false);
    }
    var poll = null;
    return stream(button.formAction, new FormData(form), {
      element: widget,
      started: function (url) {
        poll = url;
      },
      delta: function (piece) {
        text.textContent += piece;
      },
      done: function (html) {
        end(function () {
          target.innerHTML = html;
          if (widget.classList.contains("question-box--locked") || widget.hasAttribute("data-roleplay")) {
            // The answer is final and has its feedback now: nothing more to ask (as after a reload).
            showStatus(widget, "");
            button.remove();
          } else {
            showNotice(widget, "saved", "Saved.");
          }
        });
      },
      error: function (html) {
        end(function () {
          target.innerHTML = html;
        });
      },
      refused: function (status, html) {
        end(function () {
          target.replaceChildren();
          if (html) {
            showStatus(widget, html);
          } else {
            showText(widget, "Feedback could not be fetched (HTTP " + status + "). Reload the page.");
          }
        });
      },
      lost: function () {
        end(function () {
          if (poll && window.htmx) {
            pollInstead(live, poll, widget, "The tutor is still writing its feedback…");
          } else {
            target.replaceChildren();
            showText(widget, "The connection was lost. Your answer is saved; the feedback is still being written: reload the page to see it.");
          }
        });
      },
    });
  }

  // Feedback that the page asks for at once (a submitted test): one question after another, so that a
  // test of many questions never holds many tutor requests open together.
  function autostartFeedback(root) {
    var buttons = root.querySelectorAll ? root.querySelectorAll("button[data-chat-feedback-autostart]") : [];
    Array.prototype.reduce.call(
      buttons,
      function (previous, button) {
        button.removeAttribute("data-chat-feedback-autostart");
        return previous.then(function () {
          return button.isConnected ? feedback(button) : null;
        });
      },
      Promise.resolve()
    );
  }

  function updateCount(textarea) {
    var widget = widgetOf(textarea);
    var hint = widget && widget.querySelector("[data-chat-count]");
    var max = parseInt(textarea.getAttribute("maxlength"), 10);
    if (!hint || !max) {
      return;
    }
    if (!hint.hasAttribute("data-hint")) {
      hint.setAttribute("data-hint", hint.textContent.trim());
    }
    var left = max - textarea.value.length;
    hint.textContent = left < max * 0.2 ? left + " of " + max + " characters left." : hint.getAttribute("data-hint");
  }

  // Drafts: what is typed into a question box is saved as its draft (apart from the answer) shortly
  // after the last keystroke, and by a beacon when the learner leaves the page; the server restores it
  // into the box on return, on any device. "Save answer" still saves the answer itself.
  var DRAFT_DELAY_MS = 800;
  var draftTimers = new Map();

  function draftBody(textarea) {
    var body = new FormData(textarea.form);
    body.set("text", textarea.value);
    body.set("draft", "1");
    return body;
  }

  function saveDraft(textarea) {
    draftTimers.delete(textarea);
    var widget = widgetOf(textarea);
    var sent = textarea.value;
    fetch(textarea.form.getAttribute("action"), {
      method: "POST",
      body: draftBody(textarea),
      credentials: "same-origin",
      keepalive: true,
      headers: { "HX-Request": "true", "X-CSRFToken": window.courseplatform.csrfToken() },
    })
      .then(function (response) {
        if (response.status === 409) {
          // The lens or test was completed meanwhile (its answers are final as saved): nothing to keep.
          textarea.removeAttribute("data-draft-dirty");
        } else if (response.status === 204) {
          if (textarea.value === sent) {
            textarea.removeAttribute("data-draft-dirty");
          }
          showNotice(widget, "draft-saved", "Draft saved.");
        } else {
          return response.text().then(function (html) {
            if (response.headers.has("X-Chat-Refusal")) {
              showStatus(widget, html);
            } else {
              showText(widget, "Your draft could not be saved (HTTP " + response.status + "). Press “Save answer” to keep your text.");
            }
          });
        }
      })
      .catch(function () {
        showText(widget, "Your draft could not be saved: no connection. Keep this page open, or press “Save answer” once you are back online.");
      });
  }

  function scheduleDraft(textarea) {
    textarea.setAttribute("data-draft-dirty", "");
    clearTimeout(draftTimers.get(textarea));
    draftTimers.set(
      textarea,
      setTimeout(function () {
        saveDraft(textarea);
      }, DRAFT_DELAY_MS)
    );
  }

  // Leaving the page (a link, Back, closing the tab): send what is not saved yet, even as the page goes.
  function flushDrafts() {
    document.querySelectorAll("textarea[data-question-draft][data-draft-dirty]").forEach(function (textarea) {
      clearTimeout(draftTimers.get(textarea));
      draftTimers.delete(textarea);
      if (navigator.sendBeacon && navigator.sendBeacon(textarea.form.getAttribute("action"), draftBody(textarea))) {
        textarea.removeAttribute("data-draft-dirty");
      }
    });
  }
  window.addEventListener("pagehide", flushDrafts);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      flushDrafts();
    }
  });

  // Typing counts as activity; Enter sends a chat message (Shift+Enter for a new line).
  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-chat] textarea, [data-question] textarea")) {
      activity(event.target);
      updateCount(event.target);
    }
    if (event.target.matches("textarea[data-question-draft]")) {
      scheduleDraft(event.target);
    }
  });

  function forgetDraft(textarea) {
    clearTimeout(draftTimers.get(textarea));
    draftTimers.delete(textarea);
    textarea.removeAttribute("data-draft-dirty");
  }

  // Saving the answer (or submitting the test, which carries the typed answers) makes pending drafts
  // moot; any other form (e.g. "Mark complete") first sends the drafts still waiting for the pause.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var own = form.querySelector && form.querySelector("textarea[data-question-draft]");
      if (own) {
        forgetDraft(own);
      } else if (form.matches && form.matches("[data-test-submit-form]")) {
        draftTimers.forEach(function (_timer, textarea) {
          forgetDraft(textarea);
        });
      } else {
        draftTimers.forEach(function (_timer, textarea) {
          clearTimeout(draftTimers.get(textarea));
          saveDraft(textarea);
        });
      }
    },
    true
  );

  document.addEventListener("keydown", function (event) {
    var textarea = event.target;
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || !textarea.matches("[data-chat-form] textarea")) {
      return;
    }
    event.preventDefault();
    var form = textarea.form;
    var button = form.querySelector("button[type=submit]");
    if (textarea.value.trim() && button && !button.disabled) {
      form.requestSubmit(button);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form[data-chat-retry]")) {
      event.preventDefault();
      retry(form);
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-chat-feedback]") : null;
    var typed = button && button.form && button.form.querySelector("textarea[data-question-draft]");
    if (typed) {  // "Get feedback" saves the answer: no draft of it is due any more
      clearTimeout(draftTimers.get(typed));
      draftTimers.delete(typed);
      typed.removeAttribute("data-draft-dirty");
    }
    if (button && !button.disabled && feedback(button)) {
      event.preventDefault();
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (form.matches && form.matches("[data-chat-form]")) {
      var widget = widgetOf(form);
      showStatus(widget, "");
      setBusy(widget, true);
      var empty = widget.querySelector("[data-chat-empty]");
      if (empty) {
        empty.remove();
      }
      activity(form, true);
    }
  });

  // A sent message clears the box (the streaming reply frees the button); a refusal keeps the text.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (!form.matches || !form.matches("[data-chat-form]")) {
      return;
    }
    var xhr = event.detail.xhr;
    if (xhr && xhr.status >= 200 && xhr.status < 300) {
      form.reset();
      var startNew = widgetOf(form).querySelector("[data-chat-new]");
      if (startNew) {
        startNew.hidden = false;
      }
      updateCount(form.querySelector("textarea"));
      if (!widgetOf(form).hasAttribute("data-roleplay")) {  // a roleplay folds nothing away
        widgetOf(form).dispatchEvent(new CustomEvent("courseplatform:chat-sent", { bubbles: true }));
      }
    } else {
      setBusy(widgetOf(form), false);
    }
  });

  // Refusals carry a message for the status line: let htmx swap them in despite the error status.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (widgetOf(event.detail.elt) && xhr.status >= 400 && xhr.getResponseHeader("X-Chat-Refusal")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var widget = widgetOf(event.detail.elt);
    if (widget && !event.detail.xhr.getResponseHeader("X-Chat-Refusal")) {
      showText(widget, "That did not work (HTTP " + event.detail.xhr.status + "). Reload the page and try again.");
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    var widget = widgetOf(event.detail.elt);
    if (widget) {
      showText(widget, "The server could not be reached. Check your connection and try again.");
    }
  });

  // A reply placeholder swapped in by htmx starts streaming at once; so does feedback asked for on load.
  document.addEventListener("htmx:load", function (event) {
    var root = event.detail.elt || event.target;
    if (root.matches && root.matches("[data-chat-reply]")) {
      startReply(root);
    } else if (root.querySelectorAll) {
      root.querySelectorAll("[data-chat-reply]").forEach(startReply);
    }
    autostartFeedback(root);
  });
})();
