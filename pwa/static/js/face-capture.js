/* The face step: front camera, oval guide, prompts for the server's challenge, and a
 * handful of ~640 px JPEG frames with capture times, posted with the challenge token.
 * Without getUserMedia (some in-app browsers) the selfie-video form stays as it is. */
(function () {
  "use strict";

  var NEUTRAL_FRAMES = 2;
  var FRAME_GAP_MS = 200;
  var SETTLE_MS = 600;
  var FRAME_WIDTH = 640;
  var REFERENCE_WIDTH = 1280;

  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function toBlob(canvas, quality) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); });
  }

  function grab(video) {
    var w = video.videoWidth, h = video.videoHeight;
    var scale = Math.min(1, FRAME_WIDTH / Math.max(w, h));
    var canvas = document.createElement("canvas");
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    // Unmirrored: the server sees the camera's own view.
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return toBlob(canvas, 0.75);
  }

  function shrinkReference(file) {
    // A phone photo of an ID card is several MB: send ~1280 px instead.
    return new Promise(function (resolve) {
      if (!window.createImageBitmap) { resolve(file); return; }
      createImageBitmap(file).then(function (bitmap) {
        var scale = Math.min(1, REFERENCE_WIDTH / Math.max(bitmap.width, bitmap.height));
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(bitmap.width * scale);
        canvas.height = Math.round(bitmap.height * scale);
        canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        toBlob(canvas, 0.88).then(function (blob) { resolve(blob || file); });
      }, function () { resolve(file); });
    });
  }

  function init(root) {
    var form = root.querySelector("#face-form");
    if (!form) return;
    var camera = root.querySelector("#face-camera");
    var fallback = root.querySelector("[data-face-fallback]");
    var start = root.querySelector("[data-face-start]");
    var video = root.querySelector("[data-face-video]");
    var prompt = root.querySelector("[data-face-prompt]");
    var result = root.querySelector("#face-result");
    var reference = form.querySelector("input[name=reference]");
    var token = root.getAttribute("data-token");
    var maxFrames = parseInt(root.getAttribute("data-max-frames"), 10) || 16;

    if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) return;
    camera.hidden = false;
    fallback.hidden = true;
    var busy = false;

    function say(text) { prompt.textContent = text; }

    function showResult(html) {
      result.innerHTML = html;
      var alert = result.querySelector("[role=alert]");
      if (alert && alert.scrollIntoView) alert.scrollIntoView({ block: "center" });
    }

    function fail(text) {
      showResult('<div class="alert alert--error" role="alert" data-testid="face-error">' +
        text.replace(/</g, "&lt;") + "</div>");
    }

    start.addEventListener("click", async function () {
      if (busy) return;
      if (reference && (!reference.files || !reference.files.length)) {
        fail("请先拍摄身份证人像面（有照片的一面）。");
        reference.focus();
        return;
      }
      busy = true;
      start.disabled = true;
      result.innerHTML = "";
      var stream = null;
      try {
        var challengeResp = await fetch("/s/" + token + "/face/challenge", { method: "POST" });
        if (!challengeResp.ok) throw new Error("challenge");
        var challenge = await challengeResp.json();
        stream = await navigator.mediaDevices.getUserMedia({
          video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
          audio: false
        });
        video.srcObject = stream;
        await video.play();
        while (!video.videoWidth) await sleep(50);

        var frames = [], times = [], t0 = performance.now();
        var perAction = Math.max(3, Math.floor((Math.min(challenge.max_frames, maxFrames) -
          NEUTRAL_FRAMES) / challenge.prompts.length));
        say("请正对屏幕，保持不动");
        await sleep(SETTLE_MS);
        for (var n = 0; n < NEUTRAL_FRAMES; n++) {
          frames.push(await grab(video)); times.push(performance.now() - t0);
          await sleep(FRAME_GAP_MS);
        }
        for (var i = 0; i < challenge.prompts.length; i++) {
          say(challenge.prompts[i]);
          for (var k = 0; k < perAction; k++) {
            await sleep(FRAME_GAP_MS);
            frames.push(await grab(video)); times.push(performance.now() - t0);
          }
        }
        say("正在核验，请稍候…");

        var body = new FormData();
        body.append("challenge", challenge.challenge);
        body.append("timestamps", JSON.stringify(times.map(function (t) { return Math.round(t); })));
        frames.forEach(function (blob, j) { body.append("frame", blob, "frame-" + j + ".jpg"); });
        // Without the field, the server compares with the official ID photo instead.
        if (reference) body.append("reference", await shrinkReference(reference.files[0]), "reference.jpg");
        var resp = await fetch(form.action, {
          method: "POST", body: body, headers: { "HX-Request": "true" }, credentials: "same-origin"
        });
        var next = resp.headers.get("HX-Redirect");
        if (next) { say("核验通过"); window.location.assign(next); return; }
        say("");
        showResult(await resp.text());
      } catch (err) {
        say("");
        if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) {
          fail("无法使用摄像头。请在浏览器设置中允许访问摄像头，或改为上传自拍视频。");
        } else if (err && err.name === "NotFoundError") {
          fail("没有找到前置摄像头。请改为上传自拍视频。");
        } else {
          fail("网络或摄像头出现问题，请重试。");
        }
        camera.hidden = true;
        fallback.hidden = false;
      } finally {
        if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
        video.srcObject = null;
        busy = false;
        start.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-face-step]");
    if (root) init(root);
  });
})();
