// Runs an ONNX model in onnxruntime (the npm package onnxruntime-node's CPU runtime) for the jit
// tests: node ort_run.js MODULES_DIR MODEL INPUT.bin DTYPE D0,D1,... OUTPUT.bin
// The input is raw little-endian data; the first output is written as raw float32, its shape printed.
const fs = require('fs');
const [modules, model, inputFile, dtype, shapeText, outputFile] = process.argv.slice(2);
const ort = require(modules + '/onnxruntime-node');
(async () => {
  const session = await ort.InferenceSession.create(model);
  const shape = shapeText.split(',').map(Number);
  const raw = fs.readFileSync(inputFile);
  const data = dtype === 'int64' ? new BigInt64Array(raw.buffer, raw.byteOffset, raw.length / 8)
                                 : new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  const feeds = {};
  feeds[session.inputNames[0]] = new ort.Tensor(dtype, data, shape);
  const results = await session.run(feeds);
  const out = results[session.outputNames[0]];
  fs.writeFileSync(outputFile, Buffer.from(new Float32Array(out.data).buffer));
  console.log(JSON.stringify(out.dims));
})().catch((e) => { console.error(String(e)); process.exit(1); });
