/* SignLink page glue — plain ES2017. Load after htmx:
 *   <script src="/static/vendor/htmx-<ver>.min.js" defer></script>
 *   <script src="/static/js/app.js" defer></script>
 */
(function () {
  'use strict';

  var NETWORK_ERROR = '网络异常，请检查网络后重试';

  /* ---------- service worker ---------- */

  if ('serviceWorker' in navigator && window.isSecureContext !== false) {
    window.addEventListener('load', function () {
      // offline support is an extra; a failed registration must never disturb signing
      navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(function () {});
    });
  }

  /* ---------- htmx defaults ---------- */

  var htmx = window.htmx;
  if (htmx && htmx.config) {
    // signer pages show names, phone and ID numbers: keep no page snapshots in localStorage,
    // and re-fetch from the server on back/forward instead
    htmx.config.historyCacheSize = 0;
    htmx.config.refreshOnHistoryMiss = true;
    // a 422 carries the re-rendered form with its error messages: swap it like a 200
    if (Array.isArray(htmx.config.responseHandling)) {
      htmx.config.responseHandling.unshift({ code: '422', swap: true, error: false });
    }
  }

  /* ---------- layout ---------- */

  // Room at the bottom for the fixed action bar, as tall as it really is (it may hold a
  // whole form); CSS falls back to a one-button bar where this does not run.
  var barObserver = null;

  function measureBar(bar) {
    var h = bar ? bar.getBoundingClientRect().height : 0;
    if (h > 0) document.documentElement.style.setProperty('--sticky-h', Math.ceil(h) + 'px');
  }

  function markStickyActions() {
    if (!document.body) return;
    var bar = document.querySelector('.sticky-actions');
    document.body.classList.toggle('has-sticky-actions', !!bar);
    if (!bar) return;
    measureBar(bar);
    if (typeof window.ResizeObserver === 'function') {
      if (barObserver) barObserver.disconnect();
      barObserver = new ResizeObserver(function () { measureBar(bar); });
      barObserver.observe(bar);
    }
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', markStickyActions);
  } else {
    markStickyActions();
  }
  document.addEventListener('htmx:load', markStickyActions);

  /* ---------- toast ---------- */

  var toastTimer = null;

  function toast(message, ms) {
    var el = document.getElementById('signlink-toast');
    if (!el) {
      el = document.createElement('div');
      el.id = 'signlink-toast';
      el.className = 'toast';
      el.setAttribute('role', 'status');
      el.setAttribute('aria-live', 'polite');
      document.body.appendChild(el);
    }
    el.textContent = message;
    // next frame, so the transition runs when the element was just created
    window.requestAnimationFrame(function () { el.classList.add('is-visible'); });
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.classList.remove('is-visible'); }, ms || 3500);
  }

  window.SignLink = window.SignLink || {};
  window.SignLink.toast = toast;

  document.addEventListener('htmx:sendError', function () { toast(NETWORK_ERROR); });
  document.addEventListener('htmx:timeout', function () { toast(NETWORK_ERROR); });
  document.addEventListener('htmx:responseError', function () { toast(NETWORK_ERROR); });
})();
