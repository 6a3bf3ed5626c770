/*
 * Spoken replies: a `<button data-speech-url=…>` ("Play", beside a roleplay character's line when
 * SPEECH_VOICE is set) fetches the line read aloud (audio/mpeg, GET, same origin) and plays it in an
 * `<audio>` element from a Blob URL (the CSP's media-src allows `blob:` for this). Pressing it again while
 * it plays stops it. A refusal (rate limit, speech server down) is shown in the `.speech__status` beside it.
 * One click handler on the document, so buttons in panels htmx or chat.js swap in work too.
 */
(function () {
  "use strict";

  var playing = null; // {button, audio, url}

  function say(button, message) {
    var status = button.parentNode.querySelector(".speech__status");
    if (status) {
      status.textContent = message;
    }
  }

  function stop() {
    if (!playing) {
      return;
    }
    playing.audio.pause();
    URL.revokeObjectURL(playing.url);
    playing.button.textContent = "Play";
    playing.button.setAttribute("aria-pressed", "false");
    playing = null;
  }

  function refusal(response) {
    return response
      .json()
      .catch(function () {
        return {};
      })
      .then(function (data) {
        var fallback = response.status === 404 ? "This line cannot be played: reload the page." : "The reply could not be read aloud (" + response.status + "). Try again.";
        throw new Error(data.error || fallback);
      });
  }

  function play(button) {
    stop();
    button.disabled = true;
    say(button, "Loading…");
    fetch(button.dataset.speechUrl, { credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.blob() : refusal(response);
      })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var audio = button.parentNode.querySelector("audio") || document.createElement("audio");
        audio.className = "speech__audio";
        audio.src = url;
        if (!audio.parentNode) {
          button.parentNode.appendChild(audio);
        }
        playing = { button: button, audio: audio, url: url };
        audio.onended = stop;
        button.textContent = "Stop";
        button.setAttribute("aria-pressed", "true");
        say(button, "");
        return audio.play();
      })
      .catch(function (error) {
        stop();
        say(button, error && error.message && error.name === "Error" ? error.message : "The reply could not be played in this browser.");
      })
      .then(function () {
        button.disabled = false;
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-speech-url]");
    if (!button) {
      return;
    }
    if (playing && playing.button === button) {
      stop();
    } else {
      play(button);
    }
  });
})();
