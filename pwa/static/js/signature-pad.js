/* SignLink signature pad — plain ES2017, no dependencies.
 *
 * Markup (inside a <form>):
 *   <div class="sig-pad-wrap"><canvas data-signature-pad data-testid="signature-pad"></canvas></div>
 *   <button type="button" data-pad-undo>撤销</button> <button type="button" data-pad-clear>清除</button>
 *   <p class="alert alert--error" data-pad-error role="alert" hidden></p>
 *   <input type="hidden" name="signature_png"> <input type="hidden" name="strokes">
 *
 * The hidden inputs are filled after every stroke, undo and clear, so a plain submit, an htmx
 * submit and any other serialiser all see the same values:
 *   signature_png  data:image/png;base64,... of the trimmed drawing on a transparent background
 *   strokes        {"width":W,"height":H,"strokes":[[{"x","y","t","p"},...],...]}
 *                  x/y in CSS px of a W×H pad, t in ms since the first point, p = pressure 0..1
 * Both are "" while the pad is empty, and submitting is blocked with a message.
 */
(function () {
  'use strict';

  var INK = '#111';
  var MIN_WIDTH = 1.1;        // CSS px at full speed
  var MAX_WIDTH = 3.4;        // CSS px when the pen is slow
  var FAST = 2.2;             // px/ms treated as "full speed"
  var MIN_DISTANCE = 1.2;     // ignore jitter below this many px
  var EXPORT_SCALE = 2;       // PNG pixels per CSS px
  var EXPORT_MAX_SIDE = 1600; // keep the data URL reasonably small
  var EMPTY_MESSAGE = '请先在框内签名';

  var hasPointer = typeof window.PointerEvent === 'function';

  function round(v, digits) {
    var f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }

  function clamp(v, lo, hi) {
    return v < lo ? lo : v > hi ? hi : v;
  }

  function eventTime(e) {
    var ts = e && e.timeStamp;
    // high-resolution time since page load (all current browsers); epoch ms in very old ones
    if (typeof ts === 'number' && ts > 0 && ts < 1e11) return ts;
    return window.performance && performance.now ? performance.now() : Date.now();
  }

  /* ---------- stroke geometry shared by live drawing, redraw and export ---------- */

  // Per-point line widths (CSS px) from speed, and from pressure when the device reports it.
  function strokeWidths(points) {
    var widths = new Array(points.length);
    var usePressure = false;
    for (var k = 1; k < points.length; k++) {
      if (points[k].p !== points[0].p) { usePressure = true; break; }
    }
    var velocity = 0;
    var width = (MIN_WIDTH + MAX_WIDTH) / 2;
    for (var i = 0; i < points.length; i++) {
      var pt = points[i];
      if (i > 0) {
        var prev = points[i - 1];
        var dt = Math.max(pt.t - prev.t, 1);
        var v = Math.hypot(pt.x - prev.x, pt.y - prev.y) / dt;
        velocity = 0.6 * v + 0.4 * velocity;
      }
      var target = MAX_WIDTH - (MAX_WIDTH - MIN_WIDTH) * clamp(velocity / FAST, 0, 1);
      if (usePressure) target *= 0.55 + 0.9 * clamp(pt.p, 0, 1);
      width = i === 0 ? target : 0.65 * width + 0.35 * target;
      widths[i] = width;
    }
    return widths;
  }

  function mid(a, b) {
    return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
  }

  // Segment i is the quadratic curve through point i-1 (as control) between the midpoints
  // around it; the final segment (i === points.length) runs to the last point itself.
  function drawSegment(ctx, points, widths, i) {
    var n = points.length;
    if (n === 1) {
      ctx.beginPath();
      ctx.arc(points[0].x, points[0].y, widths[0] / 2 + 0.3, 0, Math.PI * 2);
      ctx.fill();
      return;
    }
    if (i < 1 || i > n) return;
    var ctrl = points[i - 1];
    var from = i === 1 ? points[0] : mid(points[i - 2], ctrl);
    var to = i === n ? ctrl : mid(ctrl, points[i]);
    ctx.beginPath();
    ctx.lineWidth = i === n ? widths[n - 1] : (widths[i - 1] + widths[i]) / 2;
    ctx.moveTo(from.x, from.y);
    if (i === 1 || i === n) ctx.lineTo(to.x, to.y);
    else ctx.quadraticCurveTo(ctrl.x, ctrl.y, to.x, to.y);
    ctx.stroke();
  }

  // A stroke still being drawn stops at its last midpoint; the tail is added on pointerup.
  function drawStroke(ctx, points, inProgress) {
    var widths = strokeWidths(points);
    if (points.length === 1) { drawSegment(ctx, points, widths, 0); return; }
    var last = inProgress ? points.length - 1 : points.length;
    for (var i = 1; i <= last; i++) drawSegment(ctx, points, widths, i);
  }

  function prepareContext(ctx) {
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.strokeStyle = INK;
    ctx.fillStyle = INK;
  }

  /* ---------- one pad ---------- */

  function Pad(canvas) {
    this.canvas = canvas;
    this.form = canvas.closest('form');
    this.wrap = canvas.parentElement && canvas.parentElement.classList.contains('sig-pad-wrap')
      ? canvas.parentElement : null;
    this.ctx = canvas.getContext('2d');
    this.strokes = [];        // finished and current strokes, in model coordinates
    this.current = null;      // the stroke being drawn
    this.ref = null;          // {w, h}: CSS size of the pad when the first stroke began
    this.view = { w: 0, h: 0, dpr: 1, s: 1, ox: 0, oy: 0 };
    this.t0 = 0;
    this.pointerId = null;

    canvas.style.touchAction = 'none';
    canvas.style.msTouchAction = 'none';
    if (!canvas.hasAttribute('role')) canvas.setAttribute('role', 'img');
    if (!canvas.hasAttribute('aria-label')) canvas.setAttribute('aria-label', '签名板');

    this.inputPng = this.hiddenInput('signature_png');
    this.inputStrokes = this.hiddenInput('strokes');
    this.bindDrawing();
    this.bindTools();
    this.observeSize();
    this.resize();
    this.sync();
  }

  Pad.prototype.hiddenInput = function (name) {
    if (!this.form) return null;
    var input = this.form.querySelector('input[name="' + name + '"]');
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      this.form.appendChild(input);
    }
    return input;
  };

  Pad.prototype.errorBox = function () {
    return this.form ? this.form.querySelector('[data-pad-error]') : null;
  };

  Pad.prototype.inkCount = function () {
    return this.strokes.length;
  };

  /* -- geometry -- */

  Pad.prototype.measure = function () {
    var rect = this.canvas.getBoundingClientRect();
    return { w: rect.width, h: rect.height };
  };

  Pad.prototype.resize = function () {
    var size = this.measure();
    if (size.w < 1 || size.h < 1) return; // hidden; the observer will call again
    var dpr = Math.max(window.devicePixelRatio || 1, 1);
    var v = this.view;
    if (size.w === v.w && size.h === v.h && dpr === v.dpr) return;
    v.w = size.w;
    v.h = size.h;
    v.dpr = dpr;
    this.canvas.width = Math.round(size.w * dpr);
    this.canvas.height = Math.round(size.h * dpr);
    this.fitView();
    this.redraw();
  };

  // Model coordinates are the CSS pixels of the pad when drawing started; later sizes
  // (rotation, resize) show the same drawing scaled to fit and centred.
  Pad.prototype.fitView = function () {
    var v = this.view;
    if (!this.ref) {
      v.s = 1; v.ox = 0; v.oy = 0;
      return;
    }
    v.s = Math.min(v.w / this.ref.w, v.h / this.ref.h);
    v.ox = (v.w - this.ref.w * v.s) / 2;
    v.oy = (v.h - this.ref.h * v.s) / 2;
  };

  Pad.prototype.applyTransform = function () {
    var v = this.view;
    this.ctx.setTransform(v.dpr * v.s, 0, 0, v.dpr * v.s, v.dpr * v.ox, v.dpr * v.oy);
  };

  Pad.prototype.redraw = function () {
    var ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.applyTransform();
    prepareContext(ctx);
    for (var i = 0; i < this.strokes.length; i++) {
      drawStroke(ctx, this.strokes[i], this.strokes[i] === this.current);
    }
  };

  Pad.prototype.toModel = function (clientX, clientY, pressure, time) {
    var rect = this.canvas.getBoundingClientRect();
    var v = this.view;
    return {
      x: round((clientX - rect.left - v.ox) / v.s, 1),
      y: round((clientY - rect.top - v.oy) / v.s, 1),
      t: Math.max(0, Math.round(time - this.t0)),
      p: round(pressure, 3)
    };
  };

  /* -- drawing -- */

  Pad.prototype.begin = function (clientX, clientY, pressure, time) {
    this.resize();
    if (!this.view.w) return false;
    if (!this.strokes.length) {
      this.ref = { w: this.view.w, h: this.view.h };
      this.fitView();
      this.t0 = time;
      this.redraw();
    }
    var pt = this.toModel(clientX, clientY, pressure, time);
    this.current = [pt];
    this.strokes.push(this.current);
    this.applyTransform();
    prepareContext(this.ctx);
    drawSegment(this.ctx, this.current, strokeWidths(this.current), 0);
    if (this.wrap) this.wrap.classList.add('is-drawing', 'has-ink');
    this.hideError();
    return true;
  };

  Pad.prototype.extend = function (clientX, clientY, pressure, time) {
    var pts = this.current;
    if (!pts) return;
    var pt = this.toModel(clientX, clientY, pressure, time);
    var last = pts[pts.length - 1];
    if (Math.hypot(pt.x - last.x, pt.y - last.y) < MIN_DISTANCE / this.view.s) return;
    if (pt.t <= last.t) pt.t = last.t + 1;
    pts.push(pt);
    // the dot drawn for a single point is replaced by the real line
    if (pts.length === 2) this.redraw();
    else {
      this.applyTransform();
      prepareContext(this.ctx);
      drawSegment(this.ctx, pts, strokeWidths(pts), pts.length - 1);
    }
  };

  Pad.prototype.end = function () {
    if (!this.current) return;
    this.current = null;
    this.pointerId = null;
    if (this.wrap) this.wrap.classList.remove('is-drawing');
    // redraw so the stroke's tail and widths match exactly what a later redraw shows
    this.redraw();
    this.sync();
  };

  Pad.prototype.undo = function () {
    if (this.current) return;
    this.strokes.pop();
    this.afterEdit();
  };

  Pad.prototype.clear = function () {
    this.current = null;
    this.strokes = [];
    this.afterEdit();
  };

  Pad.prototype.afterEdit = function () {
    if (!this.strokes.length) {
      this.ref = null;
      this.fitView();
      if (this.wrap) this.wrap.classList.remove('has-ink');
    }
    this.redraw();
    this.sync();
  };

  /* -- output -- */

  Pad.prototype.strokesJSON = function () {
    return JSON.stringify({
      width: Math.round(this.ref.w),
      height: Math.round(this.ref.h),
      strokes: this.strokes
    });
  };

  Pad.prototype.trimmedPNG = function () {
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, maxW = 0;
    var widthsAll = [];
    for (var i = 0; i < this.strokes.length; i++) {
      var pts = this.strokes[i];
      var widths = strokeWidths(pts);
      widthsAll.push(widths);
      for (var j = 0; j < pts.length; j++) {
        if (pts[j].x < minX) minX = pts[j].x;
        if (pts[j].y < minY) minY = pts[j].y;
        if (pts[j].x > maxX) maxX = pts[j].x;
        if (pts[j].y > maxY) maxY = pts[j].y;
        if (widths[j] > maxW) maxW = widths[j];
      }
    }
    var pad = maxW + 2;
    minX -= pad; minY -= pad; maxX += pad; maxY += pad;
    var w = maxX - minX, h = maxY - minY;
    var scale = Math.min(EXPORT_SCALE, EXPORT_MAX_SIDE / Math.max(w, h));
    var out = document.createElement('canvas');
    out.width = Math.max(1, Math.ceil(w * scale));
    out.height = Math.max(1, Math.ceil(h * scale));
    var ctx = out.getContext('2d');
    ctx.setTransform(scale, 0, 0, scale, -minX * scale, -minY * scale);
    prepareContext(ctx);
    for (var k = 0; k < this.strokes.length; k++) drawStroke(ctx, this.strokes[k]);
    return out.toDataURL('image/png');
  };

  // Write the current drawing into the form's hidden inputs ("" when empty).
  Pad.prototype.sync = function () {
    var empty = !this.strokes.length;
    if (this.inputPng) this.inputPng.value = empty ? '' : this.trimmedPNG();
    if (this.inputStrokes) this.inputStrokes.value = empty ? '' : this.strokesJSON();
    this.updateTools();
    var evt;
    try {
      evt = new CustomEvent('signlink:pad-change', { bubbles: true, detail: { strokes: this.strokes.length } });
    } catch (err) {
      evt = document.createEvent('CustomEvent');
      evt.initCustomEvent('signlink:pad-change', true, false, { strokes: this.strokes.length });
    }
    this.canvas.dispatchEvent(evt);
  };

  Pad.prototype.updateTools = function () {
    if (!this.form) return;
    var empty = !this.strokes.length;
    var buttons = this.form.querySelectorAll('[data-pad-undo], [data-pad-clear]');
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = empty;
  };

  Pad.prototype.showError = function () {
    var box = this.errorBox();
    if (box) {
      box.textContent = box.getAttribute('data-pad-error') || EMPTY_MESSAGE;
      box.hidden = false;
      if (!box.hasAttribute('role')) box.setAttribute('role', 'alert');
    } else {
      window.alert(EMPTY_MESSAGE);
    }
    if (this.wrap && this.wrap.scrollIntoView) {
      this.wrap.scrollIntoView({ block: 'center', behavior: 'smooth' });
    }
  };

  Pad.prototype.hideError = function () {
    var box = this.errorBox();
    if (box) { box.hidden = true; box.textContent = ''; }
  };

  /* -- events -- */

  Pad.prototype.bindDrawing = function () {
    var self = this;
    var canvas = this.canvas;

    if (hasPointer) {
      canvas.addEventListener('pointerdown', function (e) {
        if (self.pointerId !== null) return;               // one finger draws; ignore others
        if (e.pointerType === 'mouse' && e.button !== 0) return;
        e.preventDefault();
        var p = e.pressure > 0 ? e.pressure : 0.5;
        if (!self.begin(e.clientX, e.clientY, p, eventTime(e))) return;
        self.pointerId = e.pointerId;
        try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* not capturable */ }
      });
      canvas.addEventListener('pointermove', function (e) {
        if (e.pointerId !== self.pointerId) return;
        e.preventDefault();
        var events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : null;
        if (!events || !events.length) events = [e];
        for (var i = 0; i < events.length; i++) {
          var ev = events[i];
          var p = ev.pressure > 0 ? ev.pressure : 0.5;
          self.extend(ev.clientX, ev.clientY, p, eventTime(ev));
        }
      });
      var finish = function (e) {
        if (e.pointerId !== self.pointerId) return;
        self.end();
      };
      canvas.addEventListener('pointerup', finish);
      canvas.addEventListener('pointercancel', finish);
      canvas.addEventListener('lostpointercapture', finish);
      // iOS: keep the page from scrolling or bouncing even where touch-action is ignored
      canvas.addEventListener('touchmove', function (e) { e.preventDefault(); }, { passive: false });
      return;
    }

    // Touch + mouse fallback (old iOS WebViews)
    var touchId = null;
    function findTouch(list) {
      for (var i = 0; i < list.length; i++) if (list[i].identifier === touchId) return list[i];
      return null;
    }
    canvas.addEventListener('touchstart', function (e) {
      if (touchId !== null) return;
      var t = e.changedTouches[0];
      e.preventDefault();
      if (self.begin(t.clientX, t.clientY, t.force > 0 ? t.force : 0.5, eventTime(e))) {
        touchId = t.identifier;
      }
    }, { passive: false });
    canvas.addEventListener('touchmove', function (e) {
      e.preventDefault();
      var t = findTouch(e.changedTouches);
      if (t) self.extend(t.clientX, t.clientY, t.force > 0 ? t.force : 0.5, eventTime(e));
    }, { passive: false });
    var touchEnd = function (e) {
      if (findTouch(e.changedTouches)) { touchId = null; self.end(); }
    };
    canvas.addEventListener('touchend', touchEnd);
    canvas.addEventListener('touchcancel', touchEnd);

    var mouseDown = false;
    canvas.addEventListener('mousedown', function (e) {
      if (e.button !== 0 || touchId !== null) return;
      e.preventDefault();
      mouseDown = self.begin(e.clientX, e.clientY, 0.5, eventTime(e));
    });
    document.addEventListener('mousemove', function (e) {
      if (mouseDown) self.extend(e.clientX, e.clientY, 0.5, eventTime(e));
    });
    document.addEventListener('mouseup', function () {
      if (mouseDown) { mouseDown = false; self.end(); }
    });
  };

  Pad.prototype.bindTools = function () {
    if (!this.form) return;
    var self = this;
    function bind(selector, action) {
      var buttons = self.form.querySelectorAll(selector);
      for (var i = 0; i < buttons.length; i++) {
        var b = buttons[i];
        if (b.__signlinkPadTool) continue;
        b.__signlinkPadTool = true;
        // a <button> without a type would submit the form
        if (b.tagName === 'BUTTON' && !b.getAttribute('type')) b.type = 'button';
        b.addEventListener('click', function (e) {
          e.preventDefault();
          action();
        });
      }
    }
    bind('[data-pad-undo]', function () { self.undo(); });
    bind('[data-pad-clear]', function () { self.clear(); });
  };

  Pad.prototype.observeSize = function () {
    var self = this;
    var schedule = function () {
      if (self.current || !self.canvas.isConnected) return; // never resize mid-stroke
      window.requestAnimationFrame(function () { self.resize(); });
    };
    if (typeof window.ResizeObserver === 'function') {
      new ResizeObserver(schedule).observe(this.canvas);
    }
    window.addEventListener('resize', schedule);
    window.addEventListener('orientationchange', function () { setTimeout(schedule, 250); });
    if (window.matchMedia) {
      var mq = window.matchMedia('(resolution: ' + (window.devicePixelRatio || 1) + 'dppx)');
      if (mq.addEventListener) mq.addEventListener('change', schedule);
    }
  };

  /* ---------- wiring ---------- */

  function padsOfForm(form) {
    var pads = [];
    if (!form) return pads;
    var canvases = form.querySelectorAll('canvas[data-signature-pad]');
    for (var i = 0; i < canvases.length; i++) {
      if (canvases[i].__signlinkPad) pads.push(canvases[i].__signlinkPad);
    }
    return pads;
  }

  // True when every pad in the form has ink; shows the message on the first empty one.
  function checkForm(form) {
    var pads = padsOfForm(form);
    for (var i = 0; i < pads.length; i++) {
      if (pads[i].current) pads[i].end();
      if (!pads[i].inkCount()) { pads[i].showError(); return false; }
      pads[i].sync();
    }
    return true;
  }

  function init(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var canvases = scope.querySelectorAll('canvas[data-signature-pad]');
    var list = Array.prototype.slice.call(canvases);
    if (scope.matches && scope.matches('canvas[data-signature-pad]')) list.push(scope);
    for (var i = 0; i < list.length; i++) {
      if (!list[i].__signlinkPad) list[i].__signlinkPad = new Pad(list[i]);
    }
  }

  // Capture phase on document: runs before htmx's and any other submit listener on the form.
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!padsOfForm(form).length) return;
    if (!checkForm(form)) {
      e.preventDefault();
      e.stopImmediatePropagation();
      e.stopPropagation();
    }
  }, true);

  // htmx requests triggered by something other than a submit event (hx-trigger, a button's
  // hx-post) still carry the drawing and are cancelled while the pad is empty.
  document.addEventListener('htmx:configRequest', function (e) {
    var elt = e.detail && e.detail.elt;
    if (!elt || !elt.closest) return;
    var form = elt.tagName === 'FORM' ? elt : elt.closest('form');
    var pads = padsOfForm(form);
    if (!pads.length) return;
    var verb = (e.detail.verb || '').toLowerCase();
    if (verb === 'get') return;
    if (!checkForm(form)) { e.preventDefault(); return; }
    var params = e.detail.parameters;
    var pad = pads[0];
    if (params && pad.inputPng && pad.inputStrokes) {
      params.signature_png = pad.inputPng.value;
      params.strokes = pad.inputStrokes.value;
    }
  });

  document.addEventListener('htmx:load', function (e) { init(e.detail && e.detail.elt); });

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { init(document); });
  } else {
    init(document);
  }

  window.SignLinkPad = {
    strokeCount: function (canvas) {
      return canvas && canvas.__signlinkPad ? canvas.__signlinkPad.inkCount() : 0;
    },
    clear: function (canvas) {
      if (canvas && canvas.__signlinkPad) canvas.__signlinkPad.clear();
    },
    init: init
  };
})();
