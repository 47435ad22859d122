/* Manual identity review: shrink phone photos (often 3–8 MB) before upload, so they go
 * through on a weak mobile connection. Without this script the form still posts as is.
 */
(function () {
  'use strict';

  var MAX_SIDE = 1600;
  var SHRINK_ABOVE = 1500000;

  function shrink(file) {
    return new Promise(function (resolve) {
      if (!file || file.size <= SHRINK_ABOVE || !/^image\//.test(file.type)) { resolve(file); return; }
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement('canvas');
        canvas.width = Math.round(img.naturalWidth * scale);
        canvas.height = Math.round(img.naturalHeight * scale);
        canvas.getContext('2d').drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        canvas.toBlob(function (blob) { resolve(blob || file); }, 'image/jpeg', 0.85);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(file); };
      img.src = url;
    });
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!form.matches || !form.matches('form[data-shrink-photos]') || !window.fetch) return;
    event.preventDefault();
    var button = form.querySelector('[type="submit"]');
    if (button) button.disabled = true;
    var inputs = Array.prototype.slice.call(form.querySelectorAll('input[type="file"]'));
    Promise.all(inputs.map(function (input) { return shrink(input.files[0]); })).then(function (files) {
      var data = new FormData(form);
      inputs.forEach(function (input, i) {
        if (files[i]) data.set(input.name, files[i], (input.files[0] && input.files[0].name) || input.name + '.jpg');
      });
      return fetch(form.action, { method: 'POST', body: data, credentials: 'same-origin' });
    }).then(function (response) {
      if (response.redirected) { window.location.assign(response.url); return; }
      return response.text().then(function (html) {
        document.open(); document.write(html); document.close();
      });
    }).catch(function () {
      if (button) button.disabled = false;
      if (window.SignLink && window.SignLink.toast) window.SignLink.toast('网络异常，请检查网络后重试');
    });
  });
})();
