// Copyright 2026 The sketch-rnn-tf2 Authors.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.
//
// Runs Magenta.js's SketchRNN (@magenta/sketch, installed in js/) headlessly:
//   node sketch_rnn_js.js MODEL.gen.json STROKES.json OUT.json
// STROKES.json: stroke-5 points in the model's normalised units, starting with
// the start token. OUT.json: getPDF at temperature 1 after each point, and info.

const fs = require('fs');
const path = require('path');

const [modelPath, strokesPath, outPath] = process.argv.slice(2);
const jsRoot = path.join(__dirname, '..', 'js');
const sketch = require(require.resolve('@magenta/sketch', {paths: [jsRoot]}));

// SketchRNN.initialize() fetches its URL; Node's fetch does not read files.
globalThis.fetch = async (url) => {
  const text = fs.readFileSync(url, 'utf8');
  return {json: async () => JSON.parse(text)};
};

async function main() {
  await sketch.tf.setBackend('cpu');
  const model = new sketch.SketchRNN(modelPath);
  await model.initialize();
  // Offsets are divided by scale_factor / pixelFactor: a pixel factor equal to
  // scale_factor makes that 1, so the points go in as given (normalised units).
  model.setPixelFactor(model.info.scale_factor);
  const strokes = JSON.parse(fs.readFileSync(strokesPath, 'utf8'));
  const m = model.NMIXTURE;
  let state = model.zeroState();
  const steps = [];
  for (const stroke of strokes) {
    state = model.update(stroke, state);
    const pdf = model.getPDF(state, 1.0);
    const list = (a) => Array.from(a.slice(0, m));
    steps.push({pi: list(pdf.pi), mu1: list(pdf.muX), mu2: list(pdf.muY),
                sigma1: list(pdf.sigmaX), sigma2: list(pdf.sigmaY),
                corr: list(pdf.corr), pen: Array.from(pdf.pen)});
  }
  fs.writeFileSync(outPath, JSON.stringify({
    info: model.info, num_units: model.numUnits, num_mixture: m,
    scale_factor: model.scaleFactor, backend: sketch.tf.getBackend(), steps}));
}

main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
