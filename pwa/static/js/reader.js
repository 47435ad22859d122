/* SignLink reader helpers — plain ES2017, no dependencies.
 *
 * 1. Read-to-the-end gate:
 *      <div class="doc-pages" data-enable-target="#read-done"> <img class="doc-page" ...> ... </div>
 *      <button id="read-done" class="btn btn--primary" disabled data-label-ready="我已阅读，下一步">请阅读至最后一页</button>
 *    The button is enabled once the last page image has loaded and been at least 60 % visible
 *    (or has filled most of the viewport / shown its bottom edge, for pages taller than the screen).
 * 2. Resend countdown: <button data-countdown="60" hx-post="...">获取验证码</button>
 *    After the click (or, for a button with its own hx-post, after its request succeeded) the
 *    button is disabled and shows "重新发送 (59s)" ... then "重新发送". With
 *    data-countdown-start the countdown runs from the moment the button is rendered (the server
 *    just sent a code and puts the seconds left in data-countdown). The server enforces the
 *    interval; this only keeps people from tapping in vain. Survives htmx swaps and reloads.
 * 3. Copy buttons: <button data-copy="text to copy"> or <button data-copy data-copy-target="#link">.
 */
(function () {
  'use strict';

  var VISIBLE_RATIO = 0.6;

  // the page's language, from app.js (base.html #ui-text); Chinese when it is missing
  function t(key, fallback) {
    return window.SignLink && window.SignLink.t ? window.SignLink.t(key, fallback) : fallback;
  }

  function $(selector) {
    try { return document.querySelector(selector); } catch (err) { return null; }
  }

  function scopeAll(root, selector) {
    var scope = root && root.querySelectorAll ? root : document;
    var list = Array.prototype.slice.call(scope.querySelectorAll(selector));
    if (scope.matches && scope.matches(selector)) list.unshift(scope);
    return list;
  }

  function imageOf(page) {
    return page.tagName === 'IMG' ? page : page.querySelector('img');
  }

  function isLoaded(img) {
    return !img || (img.complete && img.naturalWidth > 0);
  }

  function markLoaded(img) {
    if (!img) return;
    var page = img.classList.contains('doc-page') ? img : img.closest('.doc-page');
    if (page) page.classList.add('is-loaded');
  }

  /* ---------- 1. read-to-the-end gate ---------- */

  // Idempotent: also re-applied when htmx swaps in a fresh, disabled copy of the target.
  function enableTarget(container) {
    var first = !container.__signlinkReadDone;
    container.__signlinkReadDone = true;
    var button = $(container.getAttribute('data-enable-target'));
    if (!button) return;
    button.disabled = false;
    button.removeAttribute('aria-disabled');
    button.classList.remove('is-disabled');
    var label = button.getAttribute('data-label-ready');
    if (label) button.textContent = label;
    if (!first) return;
    var evt;
    try {
      evt = new CustomEvent('signlink:read', { bubbles: true });
    } catch (err) {
      evt = document.createEvent('CustomEvent');
      evt.initCustomEvent('signlink:read', true, false, null);
    }
    container.dispatchEvent(evt);
  }

  function seenEnough(entry) {
    if (!entry.isIntersecting && entry.intersectionRatio <= 0) return false;
    if (entry.intersectionRatio >= VISIBLE_RATIO) return true;
    // a page taller than the screen can never be 60 % visible: count it when it fills most of
    // the viewport or its bottom edge has been scrolled into view
    var root = entry.rootBounds;
    if (!root) return false;
    var visible = entry.intersectionRect.height;
    return visible >= VISIBLE_RATIO * root.height ||
      (entry.boundingClientRect.bottom <= root.bottom + 1 && visible > 0);
  }

  function initGate(container) {
    if (container.__signlinkGate) return;
    container.__signlinkGate = true;
    var pages = container.querySelectorAll('.doc-page');
    if (!pages.length) { enableTarget(container); return; }
    var last = pages[pages.length - 1];
    var img = imageOf(last);
    var seen = false;

    function maybeEnable() {
      if (seen && isLoaded(img)) enableTarget(container);
    }

    if (img) {
      // a page that cannot load must not trap the signer on this step
      img.addEventListener('error', function () { if (seen) enableTarget(container); });
      img.addEventListener('load', maybeEnable);
    }

    if (typeof window.IntersectionObserver !== 'function') {
      seen = true;
      if (isLoaded(img)) enableTarget(container);
      return;
    }

    var thresholds = [];
    for (var t = 0; t <= 20; t++) thresholds.push(t / 20);
    var observer = new IntersectionObserver(function (entries) {
      for (var i = 0; i < entries.length; i++) {
        if (!seenEnough(entries[i])) continue;
        if (!isLoaded(img)) continue; // the placeholder box does not count as read
        seen = true;
        observer.disconnect();
        maybeEnable();
        return;
      }
    }, { threshold: thresholds });
    observer.observe(last);
    // once the image arrives its box changes size; ask the observer again
    if (img && !isLoaded(img)) {
      img.addEventListener('load', function () {
        if (container.__signlinkReadDone) return;
        observer.unobserve(last);
        observer.observe(last);
      });
    }
  }

  function initPages(root) {
    scopeAll(root, '.doc-page').forEach(function (page) {
      var img = imageOf(page);
      if (!img) return;
      if (isLoaded(img)) markLoaded(img);
      else img.addEventListener('load', function () { markLoaded(img); });
    });
    scopeAll(root, '.doc-pages[data-enable-target]').forEach(initGate);
    scopeAll(document, '.doc-pages[data-enable-target]').forEach(function (container) {
      if (container.__signlinkReadDone) enableTarget(container);
    });
  }

  /* ---------- 2. resend countdown ---------- */

  var STORE_PREFIX = 'signlink:countdown:';

  function storage() {
    try { return window.sessionStorage; } catch (err) { return null; }
  }

  function countdownKey(button) {
    return STORE_PREFIX + location.pathname + ':' +
      (button.getAttribute('data-countdown-key') || button.id || button.getAttribute('name') || 'otp');
  }

  function usesHtmx(button) {
    return ['hx-post', 'hx-get', 'hx-put', 'hx-patch', 'hx-delete',
      'data-hx-post', 'data-hx-get', 'data-hx-put', 'data-hx-patch', 'data-hx-delete']
      .some(function (a) { return button.hasAttribute(a); });
  }

  function runCountdown(button, endsAt) {
    if (button.__signlinkTimer) clearInterval(button.__signlinkTimer);
    var again = button.getAttribute('data-label-again') || t('resend', '重新发送');
    function tick() {
      var remaining = endsAt - Date.now();
      if (!button.isConnected) { // swapped out; its replacement resumes from sessionStorage
        clearInterval(button.__signlinkTimer);
        button.__signlinkTimer = null;
        return;
      }
      if (remaining <= 0) {
        clearInterval(button.__signlinkTimer);
        button.__signlinkTimer = null;
        button.disabled = false;
        button.textContent = again;
        var s = storage();
        if (s) s.removeItem(countdownKey(button));
        return;
      }
      button.disabled = true;
      // "59s" right after sending, and never re-enabled before the server's full interval
      button.textContent = again + ' (' + Math.max(1, Math.floor((remaining - 1) / 1000)) + 's)';
    }
    tick();
    button.__signlinkTimer = setInterval(tick, 250);
  }

  function startCountdown(button) {
    var seconds = parseInt(button.getAttribute('data-countdown'), 10) || 60;
    var endsAt = Date.now() + seconds * 1000;
    var s = storage();
    var key = countdownKey(button);
    if (s) { try { s.setItem(key, String(endsAt)); } catch (err) { /* private mode */ } }
    // the response may have replaced the button; count down on whichever is in the page
    var buttons = document.querySelectorAll('[data-countdown]');
    var started = false;
    for (var i = 0; i < buttons.length; i++) {
      if (countdownKey(buttons[i]) === key) { runCountdown(buttons[i], endsAt); started = true; }
    }
    if (!started) runCountdown(button, endsAt);
  }

  function initCountdowns(root) {
    var s = storage();
    scopeAll(root, '[data-countdown]').forEach(function (button) {
      if (button.__signlinkTimer) return;
      // rendered right after a send: the server says how many seconds are left
      if (button.hasAttribute('data-countdown-start')) {
        button.removeAttribute('data-countdown-start');
        startCountdown(button);
        return;
      }
      var endsAt = s ? parseInt(s.getItem(countdownKey(button)), 10) : NaN;
      if (endsAt > Date.now()) runCountdown(button, endsAt);
    });
  }

  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('[data-countdown]');
    if (!button || button.disabled || usesHtmx(button)) return;
    // let the click submit its form first; disabling it now would drop it from the request
    setTimeout(function () { startCountdown(button); }, 0);
  });

  document.addEventListener('htmx:afterRequest', function (e) {
    var elt = e.detail && e.detail.elt;
    if (!elt || !elt.hasAttribute || !elt.hasAttribute('data-countdown')) return;
    if (e.detail.successful) startCountdown(elt);
  });

  /* ---------- 3. copy to clipboard ---------- */

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return legacyCopy(text); });
    }
    return legacyCopy(text);
  }

  function legacyCopy(text) {
    return new Promise(function (resolve, reject) {
      var area = document.createElement('textarea');
      area.value = text;
      area.setAttribute('readonly', '');
      area.style.position = 'fixed';
      area.style.top = '-1000px';
      area.style.opacity = '0';
      area.style.fontSize = '16px'; // no zoom on iOS
      document.body.appendChild(area);
      area.select();
      area.setSelectionRange(0, text.length);
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (err) { ok = false; }
      document.body.removeChild(area);
      if (ok) resolve(); else reject(new Error('copy failed'));
    });
  }

  function flash(button, label) {
    if (button.__signlinkFlash) clearTimeout(button.__signlinkFlash);
    else button.__signlinkLabel = button.textContent;
    button.textContent = label;
    button.__signlinkFlash = setTimeout(function () {
      button.textContent = button.__signlinkLabel;
      button.__signlinkFlash = null;
    }, 1600);
  }

  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('[data-copy]');
    if (!button) return;
    e.preventDefault();
    var text = button.getAttribute('data-copy');
    var targetSel = button.getAttribute('data-copy-target');
    if (targetSel) {
      var target = $(targetSel);
      if (target) text = 'value' in target && target.value !== undefined ? target.value : target.textContent;
    }
    if (!text) return;
    copyText(text.trim()).then(function () {
      flash(button, button.getAttribute('data-label-copied') || t('copied', '已复制'));
    }, function () {
      flash(button, t('copy_failed', '复制失败，请长按复制'));
    });
  });

  /* ---------- wiring ---------- */

  function init(root) {
    initPages(root);
    initCountdowns(root);
  }

  document.addEventListener('htmx:load', function (e) { init(e.detail && e.detail.elt); });
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { init(document); });
  } else {
    init(document);
  }
})();
