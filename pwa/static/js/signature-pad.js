/* SignLink signature pad — plain ES2017, no dependencies.
 *
 * Markup (inside a <form>):
 *   <div class="sig-pad-wrap"><canvas data-signature-pad data-testid="signature-pad"></canvas></div>
 *   <button type="button" data-pad-undo>撤销</button> <button type="button" data-pad-clear>清除</button>
 *   <p class="alert alert--error" data-pad-error role="alert" hidden></p>
 *   <input type="hidden" name="signature_png"> <input type="hidden" name="strokes">
 * Optional character-by-character mode: wrap the free pad in <div data-pad-panel="free"> and
 * put one canvas per character in <div data-pad-panel="chars">; buttons with
 * data-pad-mode-switch="free|chars" switch (the form's data-pad-mode holds the mode).
 *
 * The hidden inputs are filled after every stroke, undo, clear and mode switch, so a plain
 * submit, an htmx submit and any other serialiser all see the same values:
 *   strokes        free:  {"width":W,"height":H,"strokes":[[{"x","y","t","p"},...],...]}
 *                  chars: {"chars":[{"width","height","strokes"}, ...]} one per box, in order
 *                  x/y in CSS px of a W×H pad (all >= 0), t in ms since the signature's first
 *                  point, p = pressure 0..1. This is the signature: the server checks it and
 *                  renders the PNG that is signed (ml/handwriting).
 *   signature_png  free mode: data:image/png;base64,... of the pad's own ink (a preview only)
 * Both are "" while the drawing is incomplete, and submitting is blocked with a message.
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
  var MAX_POINTS = 11000;     // the server refuses more than 12 000 points
  var EMPTY_MESSAGE = '请先在框内签名';
  var CHAR_MESSAGE = '请在每个框内各写一个字';
  var TOO_LONG_MESSAGE = '签名过长，请清除后简洁地重新签名';

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

  /* ---------- one pad (one canvas) ---------- */

  function Pad(canvas, group) {
    this.canvas = canvas;
    this.group = group;
    this.wrap = canvas.parentElement && canvas.parentElement.classList.contains('sig-pad-wrap')
      ? canvas.parentElement : null;
    this.ctx = canvas.getContext('2d');
    this.strokes = [];        // finished and current strokes, in model coordinates
    this.current = null;      // the stroke being drawn
    this.ref = null;          // {w, h}: CSS size of the pad when the first stroke began
    this.view = { w: 0, h: 0, dpr: 1, s: 1, ox: 0, oy: 0 };
    this.pointerId = null;

    canvas.style.touchAction = 'none';
    canvas.style.msTouchAction = 'none';
    if (!canvas.hasAttribute('role')) canvas.setAttribute('role', 'img');
    if (!canvas.hasAttribute('aria-label')) canvas.setAttribute('aria-label', '签名板');

    this.bindDrawing();
    this.observeSize();
    this.resize();
  }

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
  // (rotation, resize) show the same drawing scaled uniformly to fit and centred, so it is
  // never distorted, and the extra room can be written in (see strokesObject).
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
    // a finger sliding off the pad keeps writing along its edge, as on paper
    var x = clamp(clientX - rect.left, 0, rect.width);
    var y = clamp(clientY - rect.top, 0, rect.height);
    return {
      x: round((x - v.ox) / v.s, 1),
      y: round((y - v.oy) / v.s, 1),
      t: Math.max(0, Math.round(time - this.group.t0)),
      p: round(clamp(pressure, 0, 1), 3)
    };
  };

  /* -- drawing -- */

  Pad.prototype.begin = function (clientX, clientY, pressure, time) {
    this.resize();
    if (!this.view.w) return false;
    if (this.group.points >= MAX_POINTS) { this.group.showError(TOO_LONG_MESSAGE); return false; }
    if (!this.strokes.length) {
      this.ref = { w: this.view.w, h: this.view.h };
      this.fitView();
      this.redraw();
    }
    if (this.group.t0 === null) this.group.t0 = time;
    var pt = this.toModel(clientX, clientY, pressure, time);
    this.current = [pt];
    this.strokes.push(this.current);
    this.group.began(this);
    this.applyTransform();
    prepareContext(this.ctx);
    drawSegment(this.ctx, this.current, strokeWidths(this.current), 0);
    if (this.wrap) this.wrap.classList.add('is-drawing', 'has-ink');
    return true;
  };

  Pad.prototype.extend = function (clientX, clientY, pressure, time) {
    var pts = this.current;
    if (!pts || this.group.points >= MAX_POINTS) return;
    var pt = this.toModel(clientX, clientY, pressure, time);
    var last = pts[pts.length - 1];
    if (Math.hypot(pt.x - last.x, pt.y - last.y) < MIN_DISTANCE / this.view.s) return;
    if (pt.t <= last.t) pt.t = last.t + 1;
    pts.push(pt);
    this.group.points++;
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
    this.group.sync();
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
  };

  /* -- output -- */

  // The wire format; strokes written in the extra room of an enlarged (rotated) pad lie
  // outside the first size, so the box grows to hold them and everything shifts to x, y >= 0.
  Pad.prototype.strokesObject = function () {
    var minX = 0, minY = 0, maxX = this.ref.w, maxY = this.ref.h;
    var i, j, pts;
    for (i = 0; i < this.strokes.length; i++) {
      pts = this.strokes[i];
      for (j = 0; j < pts.length; j++) {
        if (pts[j].x < minX) minX = pts[j].x;
        if (pts[j].y < minY) minY = pts[j].y;
        if (pts[j].x > maxX) maxX = pts[j].x;
        if (pts[j].y > maxY) maxY = pts[j].y;
      }
    }
    var out = [];
    for (i = 0; i < this.strokes.length; i++) {
      pts = this.strokes[i];
      var copy = new Array(pts.length);
      for (j = 0; j < pts.length; j++) {
        copy[j] = { x: round(pts[j].x - minX, 1), y: round(pts[j].y - minY, 1), t: pts[j].t, p: pts[j].p };
      }
      out.push(copy);
    }
    return { width: Math.ceil(maxX - minX), height: Math.ceil(maxY - minY), strokes: out };
  };

  Pad.prototype.trimmedPNG = function () {
    var minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, maxW = 0;
    for (var i = 0; i < this.strokes.length; i++) {
      var pts = this.strokes[i];
      var widths = strokeWidths(pts);
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

  /* -- events -- */

  Pad.prototype.bindDrawing = function () {
    var self = this;
    var canvas = this.canvas;

    if (hasPointer) {
      canvas.addEventListener('pointerdown', function (e) {
        if (self.pointerId !== null) return;               // one finger draws; ignore others
        if (e.pointerType === 'mouse' && e.button !== 0) return;
        e.preventDefault();
        if (!self.begin(e.clientX, e.clientY, pressureOf(e), eventTime(e))) return;
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
          self.extend(ev.clientX, ev.clientY, pressureOf(ev), eventTime(ev));
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

    // Touch + mouse fallback (old iOS WebViews, older WeChat X5 kernels)
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

  // Stylus pressure when the device reports it; fingers and mice report 0 or a constant.
  function pressureOf(e) {
    return e.pressure > 0 ? e.pressure : 0.5;
  }

  /* ---------- the pads of one form: one signature ---------- */
  // Free mode: one pad is the signature. Character mode (data-pad-panel="chars"): one pad
  // per character, sent as {"chars": [...]}; the server lays them out into one signature.

  function Group(form) {
    this.form = form;
    this.pads = [];
    this.order = [];          // pads in the order their strokes were drawn (for undo)
    this.t0 = null;           // time of the first point of the whole signature
    this.points = 0;
    this.inputPng = hiddenInput(form, 'signature_png');
    this.inputStrokes = hiddenInput(form, 'strokes');
    this.bindTools();
    this.followRotation();
  }

  function isLandscape() {
    return window.innerWidth > window.innerHeight;
  }

  // Turning the phone sideways is how people ask for a bigger pad: bring it into view whole.
  Group.prototype.followRotation = function () {
    var self = this;
    var landscape = isLandscape();
    var check = function () {
      var now = isLandscape();
      if (now && !landscape) {
        var pads = self.activePads();
        var wrap = pads.length && (pads[0].wrap || pads[0].canvas);
        if (wrap && wrap.scrollIntoView) wrap.scrollIntoView({ block: 'center' });
      }
      landscape = now;
    };
    window.addEventListener('resize', function () { window.requestAnimationFrame(check); });
    window.addEventListener('orientationchange', function () { setTimeout(check, 250); });
  };

  function hiddenInput(form, name) {
    var input = form.querySelector('input[name="' + name + '"]');
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      form.appendChild(input);
    }
    return input;
  }

  Group.prototype.mode = function () {
    return this.form.getAttribute('data-pad-mode') === 'chars' ? 'chars' : 'free';
  };

  // The pads that make the signature in the current mode (pads outside any panel always do).
  Group.prototype.activePads = function () {
    var mode = this.mode();
    var out = [];
    for (var i = 0; i < this.pads.length; i++) {
      var panel = this.pads[i].canvas.closest('[data-pad-panel]');
      if (!panel || panel.getAttribute('data-pad-panel') === mode) out.push(this.pads[i]);
    }
    return out;
  };

  Group.prototype.add = function (pad) {
    this.pads.push(pad);
  };

  Group.prototype.began = function (pad) {
    this.order.push(pad);
    this.points++;
    this.hideError();
  };

  Group.prototype.inkCount = function () {
    var pads = this.activePads(), n = 0;
    for (var i = 0; i < pads.length; i++) n += pads[i].inkCount();
    return n;
  };

  Group.prototype.countPoints = function () {
    var n = 0;
    for (var i = 0; i < this.pads.length; i++) {
      for (var j = 0; j < this.pads[i].strokes.length; j++) n += this.pads[i].strokes[j].length;
    }
    this.points = n;
    if (!n) this.t0 = null;
  };

  Group.prototype.undo = function () {
    var active = this.activePads();
    for (var i = this.order.length - 1; i >= 0; i--) {
      var pad = this.order[i];
      if (active.indexOf(pad) >= 0 && pad.strokes.length) {
        this.order.splice(i, 1);
        pad.undo();
        break;
      }
    }
    this.countPoints();
    this.sync();
  };

  Group.prototype.clear = function () {
    var active = this.activePads();
    for (var i = 0; i < active.length; i++) active[i].clear();
    this.order = this.order.filter(function (p) { return active.indexOf(p) < 0; });
    this.countPoints();
    this.sync();
  };

  Group.prototype.setMode = function (mode) {
    this.form.setAttribute('data-pad-mode', mode === 'chars' ? 'chars' : 'free');
    var panels = this.form.querySelectorAll('[data-pad-panel]');
    for (var i = 0; i < panels.length; i++) {
      panels[i].hidden = panels[i].getAttribute('data-pad-panel') !== this.mode();
    }
    var switches = this.form.querySelectorAll('[data-pad-mode-switch]');
    for (var k = 0; k < switches.length; k++) {
      var on = switches[k].getAttribute('data-pad-mode-switch') === this.mode();
      switches[k].setAttribute('aria-pressed', on ? 'true' : 'false');
    }
    var pads = this.activePads();
    for (var j = 0; j < pads.length; j++) pads[j].resize();
    this.hideError();
    this.sync();
  };

  // Write the drawing into the form's hidden inputs ("" while incomplete).
  Group.prototype.sync = function () {
    var pads = this.activePads();
    var complete = pads.length > 0;
    for (var i = 0; i < pads.length; i++) if (!pads[i].inkCount()) complete = false;
    var png = '', strokes = '';
    if (complete && this.mode() === 'chars') {
      strokes = JSON.stringify({ chars: pads.map(function (p) { return p.strokesObject(); }) });
    } else if (complete) {
      strokes = JSON.stringify(pads[0].strokesObject());
      png = pads[0].trimmedPNG(); // the pad's own picture; the server renders from strokes
    }
    this.inputPng.value = png;
    this.inputStrokes.value = strokes;
    this.updateTools();
    var detail = { strokes: this.inkCount(), complete: complete };
    var evt;
    try {
      evt = new CustomEvent('signlink:pad-change', { bubbles: true, detail: detail });
    } catch (err) {
      evt = document.createEvent('CustomEvent');
      evt.initCustomEvent('signlink:pad-change', true, false, detail);
    }
    this.form.dispatchEvent(evt);
  };

  Group.prototype.updateTools = function () {
    var empty = !this.inkCount();
    var buttons = this.form.querySelectorAll('[data-pad-undo], [data-pad-clear]');
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = empty;
  };

  // True when every active pad has ink; otherwise shows why and where.
  Group.prototype.check = function () {
    var pads = this.activePads();
    for (var i = 0; i < pads.length; i++) if (pads[i].current) pads[i].end();
    for (var j = 0; j < pads.length; j++) {
      if (!pads[j].inkCount()) {
        this.showError(pads.length > 1 ? CHAR_MESSAGE : EMPTY_MESSAGE, pads[j]);
        return false;
      }
    }
    this.sync();
    return pads.length > 0;
  };

  Group.prototype.showError = function (message, pad) {
    var box = this.form.querySelector('[data-pad-error]');
    if (box) {
      box.textContent = message;
      box.hidden = false;
    } else {
      window.alert(message);
    }
    var target = pad && pad.wrap;
    if (target && target.scrollIntoView) target.scrollIntoView({ block: 'center', behavior: 'smooth' });
  };

  Group.prototype.hideError = function () {
    var box = this.form.querySelector('[data-pad-error]');
    if (box && !box.hidden) { box.hidden = true; box.textContent = ''; }
  };

  Group.prototype.bindTools = function () {
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
          action(e.currentTarget);
        });
      }
    }
    bind('[data-pad-undo]', function () { self.undo(); });
    bind('[data-pad-clear]', function () { self.clear(); });
    bind('[data-pad-mode-switch]', function (b) { self.setMode(b.getAttribute('data-pad-mode-switch')); });
  };

  /* ---------- wiring ---------- */

  function groupOf(form) {
    return form && form.__signlinkPads ? form.__signlinkPads : null;
  }

  function init(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var list = Array.prototype.slice.call(scope.querySelectorAll('canvas[data-signature-pad]'));
    if (scope.matches && scope.matches('canvas[data-signature-pad]')) list.push(scope);
    var touched = [];
    for (var i = 0; i < list.length; i++) {
      var canvas = list[i];
      if (canvas.__signlinkPad) continue;
      var form = canvas.closest('form');
      if (!form) continue;
      if (!form.__signlinkPads) form.__signlinkPads = new Group(form);
      canvas.__signlinkPad = new Pad(canvas, form.__signlinkPads);
      form.__signlinkPads.add(canvas.__signlinkPad);
      if (touched.indexOf(form.__signlinkPads) < 0) touched.push(form.__signlinkPads);
    }
    for (var k = 0; k < touched.length; k++) touched[k].setMode(touched[k].mode());
  }

  // Capture phase on document: runs before htmx's and any other submit listener on the form.
  document.addEventListener('submit', function (e) {
    var group = groupOf(e.target);
    if (group && !group.check()) {
      e.preventDefault();
      e.stopImmediatePropagation();
      e.stopPropagation();
    }
  }, true);

  // htmx requests triggered by something other than a submit event (hx-trigger, a button's
  // hx-post) still carry the drawing and are cancelled while the pad is incomplete.
  document.addEventListener('htmx:configRequest', function (e) {
    var elt = e.detail && e.detail.elt;
    if (!elt || !elt.closest) return;
    var group = groupOf(elt.tagName === 'FORM' ? elt : elt.closest('form'));
    if (!group) return;
    if ((e.detail.verb || '').toLowerCase() === 'get') return;
    if (!group.check()) { e.preventDefault(); return; }
    var params = e.detail.parameters;
    if (params) {
      params.signature_png = group.inputPng.value;
      params.strokes = group.inputStrokes.value;
    }
  });

  document.addEventListener('htmx:load', function (e) { init(e.detail && e.detail.elt); });

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { init(document); });
  } else {
    init(document);
  }

  window.SignLinkPad = {
    // strokes on this canvas; for a form, on all pads of the current mode
    strokeCount: function (el) {
      if (el && el.__signlinkPad) return el.__signlinkPad.inkCount();
      var group = groupOf(el);
      return group ? group.inkCount() : 0;
    },
    clear: function (el) {
      var group = el && el.__signlinkPad ? el.__signlinkPad.group : groupOf(el);
      if (group) group.clear();
    },
    setMode: function (form, mode) {
      var group = groupOf(form);
      if (group) group.setMode(mode);
    },
    init: init
  };
})();
