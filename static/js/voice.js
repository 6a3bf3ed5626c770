/*
 * Spoken answers: any `<textarea data-voice-input data-voice-url=… data-voice-max-seconds=…>` gets a
 * "Record" button. The recording (MediaRecorder, in memory) is posted as the request body to the URL
 * (POST /voice/transcribe?seconds=…, the page's CSRF token in X-CSRFToken) and the transcript fills the box for the learner to check, correct and save.
 * `data-voice-done` is what to say once the transcript is in (default: check it and save your answer).
 * Nothing is kept in the browser after the upload. With `data-voice-enforced` the box is not for typing
 * until a transcript has filled it (then it stays editable, to correct words the recognizer got wrong);
 * without a microphone the learner is told so, and can type unless voice is enforced.
 */
(function () {
  "use strict";

  var active = null; // the recording in progress: {recorder, stream, timer, stop}

  function say(widget, message, isError) {
    widget.status.textContent = message;
    widget.status.classList.toggle("voice__status--error", Boolean(isError));
  }

  function noMicrophone(widget, message) {
    var enforced = widget.textarea.hasAttribute("data-voice-enforced");
    say(
      widget,
      message + (enforced ? " This question must be answered by speaking: try another browser or device." : " You can type your answer instead."),
      true
    );
    if (!enforced) {
      widget.textarea.readOnly = false;
    }
  }

  function fill(widget, text) {
    var textarea = widget.textarea;
    var enforced = textarea.hasAttribute("data-voice-enforced");
    var current = textarea.value.trim();
    textarea.value = enforced || !current ? text : current + " " + text;
    textarea.readOnly = false;
    textarea.dispatchEvent(new Event("input", { bubbles: true })); // the draft is saved, the count updated
    textarea.focus();
    say(widget, textarea.dataset.voiceDone || "Here is what we heard. Check it, correct it if needed, then save your answer.");
  }

  function upload(widget, blob, seconds) {
    say(widget, "Turning your recording into text…");
    widget.button.disabled = true;
    // The recording is the body (not a form): the server reads it into memory and keeps nothing.
    fetch(widget.textarea.dataset.voiceUrl + "?seconds=" + seconds.toFixed(1), {
      method: "POST",
      body: blob,
      credentials: "same-origin",
      headers: { "X-CSRFToken": window.courseplatform.csrfToken(), "Content-Type": blob.type || "audio/webm" },
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return { error: "The server could not turn the recording into text (" + response.status + "). Try again." };
          })
          .then(function (data) {
            if (response.ok && data.text) {
              fill(widget, data.text);
            } else {
              say(widget, data.error || "The recording could not be turned into text. Try again.", true);
            }
          });
      })
      .catch(function () {
        say(widget, "The recording could not be sent: check your connection and try again.", true);
      })
      .then(function () {
        widget.button.disabled = false;
      });
  }

  function record(widget) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
      noMicrophone(widget, "This browser cannot record sound.");
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(
      function (stream) {
        var chunks = [];
        var recorder = new MediaRecorder(stream);
        var started = Date.now();
        var maxSeconds = Number(widget.textarea.dataset.voiceMaxSeconds) || 120;
        recorder.addEventListener("dataavailable", function (event) {
          if (event.data && event.data.size) {
            chunks.push(event.data);
          }
        });
        recorder.addEventListener("stop", function () {
          stream.getTracks().forEach(function (track) {
            track.stop();
          });
          clearTimeout(active && active.timer);
          active = null;
          widget.button.textContent = "Record answer";
          widget.button.setAttribute("aria-pressed", "false");
          var blob = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
          chunks = [];
          if (blob.size) {
            upload(widget, blob, Math.min((Date.now() - started) / 1000, maxSeconds));
          } else {
            say(widget, "Nothing was recorded. Try again.", true);
          }
        });
        recorder.start();
        active = {
          recorder: recorder,
          widget: widget,
          timer: setTimeout(function () {
            if (recorder.state === "recording") {
              recorder.stop();
            }
          }, maxSeconds * 1000),
        };
        widget.button.textContent = "Stop recording";
        widget.button.setAttribute("aria-pressed", "true");
        say(widget, "Recording… speak your answer, then press “Stop recording” (at most " + maxSeconds + " seconds).");
      },
      function (error) {
        if (error && error.name === "NotAllowedError") {
          noMicrophone(widget, "The microphone was not allowed: allow it in your browser's site settings to answer by speaking.");
        } else if (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) {
          noMicrophone(widget, "No microphone was found.");
        } else {
          noMicrophone(widget, "The microphone could not be started.");
        }
      }
    );
  }

  function stopRecording() {
    if (active && active.recorder.state === "recording") {
      active.recorder.stop();
    }
  }

  function attach(textarea) {
    if (textarea.dataset.voiceReady) {
      return;
    }
    textarea.dataset.voiceReady = "1";
    var controls = document.createElement("div");
    controls.className = "voice";
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button voice__record";
    button.textContent = "Record answer";
    button.setAttribute("aria-pressed", "false");
    var status = document.createElement("p");
    status.className = "voice__status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    controls.appendChild(button);
    controls.appendChild(status);
    textarea.insertAdjacentElement("afterend", controls);
    var widget = { textarea: textarea, button: button, status: status };
    if (textarea.hasAttribute("data-voice-enforced")) {
      if (!textarea.value.trim()) {
        textarea.readOnly = true;
      }
      say(widget, "Answer this question by speaking: press “Record answer”. You can correct the text before saving.");
    }
    button.addEventListener("click", function () {
      if (active && active.widget === widget) {
        stopRecording();
      } else if (!active) {
        record(widget);
      }
    });
  }

  function scan(root) {
    (root.querySelectorAll ? root.querySelectorAll("textarea[data-voice-input]") : []).forEach(attach);
  }

  document.addEventListener("voice:stop", stopRecording);
  document.addEventListener("DOMContentLoaded", function () {
    scan(document);
  });
  document.addEventListener("htmx:load", function (event) {
    scan(event.target);
  });
})();
