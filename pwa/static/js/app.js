/* SignLink page glue — plain ES2017. Load after htmx:
 *   <script src="/static/vendor/htmx-<ver>.min.js" defer></script>
 *   <script src="/static/js/app.js" defer></script>
 */
(function () {
  'use strict';

  /* ---------- words in the page's language (base.html #ui-text) ---------- */

  var text = {};
  try {
    var holder = document.getElementById('ui-text');
    if (holder) text = JSON.parse(holder.textContent) || {};
  } catch (err) { text = {}; }

  function t(key, fallback) { return text[key] || fallback; }

  var NETWORK_ERROR = t('network_error', '网络异常，请检查网络后重试');

  /* ---------- service worker and its updates ---------- */

  // Offline support is an extra: a failed registration must never disturb signing.
  // A new version waits until the signer taps the banner or moves to the next page (the
  // worker switches on navigation), so nobody is switched mid-step or left on an old one.
  var UPDATE_CHECK_MS = 60 * 60 * 1000;
  var wantsReload = false;

  function showUpdate(worker) {
    var banner = document.getElementById('sw-update');
    if (!banner) return;
    var button = banner.querySelector('[data-sw-reload]');
    banner.hidden = false;
    if (!button) return;
    button.onclick = function () {
      button.disabled = true;
      wantsReload = true;
      if (worker.state === 'activated' || worker.state === 'redundant') {
        window.location.reload(); // already switched (by another tab's navigation)
      } else {
        worker.postMessage({ type: 'SKIP_WAITING' });
      }
    };
  }

  function watchUpdates(reg) {
    if (reg.waiting && navigator.serviceWorker.controller) showUpdate(reg.waiting);
    reg.addEventListener('updatefound', function () {
      var worker = reg.installing;
      if (!worker) return;
      worker.addEventListener('statechange', function () {
        // "installed" with a controller in place: an update, not the first install
        if (worker.state === 'installed' && navigator.serviceWorker.controller) showUpdate(worker);
      });
    });
    var lastCheck = Date.now();
    document.addEventListener('visibilitychange', function () {
      if (document.visibilityState !== 'visible' || Date.now() - lastCheck < UPDATE_CHECK_MS) return;
      lastCheck = Date.now();
      reg.update().catch(function () {});
    });
  }

  // The offline page is cached in one language: refresh it when the signer switches.
  function keepOfflinePageInLanguage(reg) {
    var lang = document.documentElement.lang || 'zh-CN';
    try {
      var before = window.localStorage.getItem('signlink:lang');
      window.localStorage.setItem('signlink:lang', lang);
      if (before && before !== lang && reg.active) reg.active.postMessage({ type: 'REFRESH_OFFLINE' });
    } catch (err) { /* private mode */ }
  }

  if ('serviceWorker' in navigator && window.isSecureContext !== false) {
    navigator.serviceWorker.addEventListener('controllerchange', function () {
      if (!wantsReload) return;
      wantsReload = false;
      window.location.reload();
    });
    window.addEventListener('load', function () {
      navigator.serviceWorker.register('/sw.js', { scope: '/', updateViaCache: 'none' })
        .then(function (reg) {
          watchUpdates(reg);
          keepOfflinePageInLanguage(reg);
        })
        .catch(function () {});
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
  window.SignLink.t = t;

  document.addEventListener('htmx:sendError', function () { toast(NETWORK_ERROR); });
  document.addEventListener('htmx:timeout', function () { toast(NETWORK_ERROR); });
  document.addEventListener('htmx:responseError', function () { toast(NETWORK_ERROR); });
})();
