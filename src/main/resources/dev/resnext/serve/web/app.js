'use strict';
// The web page of `resnext serve`: no framework, no build step, nothing loaded from the internet.
(function () {
  const $ = (id) => document.getElementById(id);
  let lastOriginalUrl = null;

  function showError(message) {
    $('error').textContent = message;
    $('error').hidden = !message;
  }

  async function loadModel() {
    try {
      const r = await fetch('v1/model');
      const m = await r.json();
      if (!r.ok) throw new Error(m.error || r.statusText);
      $('model-line').textContent = m.name + ' \u2014 ' + m.labels.length + ' classes (' + m.labels.join(', ') +
        '), input ' + m.input.width + '\u00d7' + m.input.height + '\u00d7' + m.input.channels +
        (m.multi_label ? ', multi-label' : '') + '; decision: ' + m.decision.source;
      $('model-json').textContent = JSON.stringify(m, null, 2);
      $('explain').disabled = !m.explain;
      if (!m.explain) $('explain').checked = false;
    } catch (e) {
      $('model-line').textContent = 'The model could not be read: ' + e.message;
    }
  }

  async function classify(file) {
    showError('');
    $('result').hidden = true;
    const params = [];
    if ($('explain').checked) params.push('explain=true');
    if ($('tta').checked) params.push('tta=flip');
    const form = new FormData();
    form.append('image', file, file.name);
    let answer;
    try {
      const r = await fetch('v1/predict' + (params.length ? '?' + params.join('&') : ''), { method: 'POST', body: form });
      answer = await r.json();
      if (!r.ok) throw new Error(answer.error || r.statusText);
    } catch (e) {
      showError(file.name + ': ' + e.message);
      return;
    }
    render(file, answer);
  }

  function render(file, a) {
    if (lastOriginalUrl) URL.revokeObjectURL(lastOriginalUrl);
    lastOriginalUrl = URL.createObjectURL(file);
    $('original').src = lastOriginalUrl;
    $('label').textContent = a.label === '' ? '(no finding present)' : a.label;
    const d = a.decision;
    $('decision').textContent = 'Decision: ' + (d.thresholds
      ? d.rule + ' ' + d.thresholds.map((t) => t.toFixed(3)).join(', ') + ' (' + d.source + ')'
      : d.source) + (d.calibrated ? '; calibrated probabilities' : '; uncalibrated probabilities');
    const body = $('probabilities').querySelector('tbody');
    body.replaceChildren();
    const chosen = new Set(a.findings ? a.findings.map((f) => f.index) : [a.index]);
    a.labels.forEach((label, i) => {
      const p = a.probabilities[i];
      const tr = document.createElement('tr');
      if (chosen.has(i)) tr.className = 'chosen';
      const name = document.createElement('td');
      name.textContent = label;
      const value = document.createElement('td');
      value.textContent = (100 * p).toFixed(1) + '%';
      const barCell = document.createElement('td');
      const bar = document.createElement('span');
      bar.className = 'bar';
      bar.style.width = Math.round(200 * p) + 'px';
      barCell.appendChild(bar);
      tr.append(name, value, barCell);
      body.appendChild(tr);
    });
    if (a.explain) {
      $('overlay').src = 'data:image/png;base64,' + a.explain.overlay_png_base64;
      $('overlay-caption').textContent = 'Grad-CAM for ' + a.explain.class + ' (' + a.explain.layer + ')';
      $('overlay-figure').hidden = false;
    } else {
      $('overlay').removeAttribute('src');
      $('overlay-figure').hidden = true;
    }
    $('timing').textContent = 'decode ' + a.timing.decode_ms + ' ms, waited ' + a.timing.queue_ms +
      ' ms, network ' + a.timing.inference_ms + ' ms (batch of ' + a.timing.batch_size + '), total ' +
      a.timing.total_ms + ' ms';
    $('result').hidden = false;
  }

  $('file').addEventListener('change', (e) => {
    if (e.target.files.length) classify(e.target.files[0]);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) classify(e.dataTransfer.files[0]);
  });
  loadModel();
})();
