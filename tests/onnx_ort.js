#!/usr/bin/env node
// onnx_ort.js - run an ONNX model with ONNX Runtime on Fashion-MNIST test
// images and write its logits as CSV.
//
//   node tests/onnx_ort.js MODEL.onnx DATADIR ROWS OUT.csv
//   node tests/onnx_ort.js MODEL.onnx DATA.csv ROWS OUT.csv CxHxW [SCALE]
//
// Reads the first ROWS images of DATADIR/t10k-images-idx3-ubyte.gz, scales
// pixels to byte / 255 as a float32 NCHW tensor [ROWS,1,28,28], feeds it to
// the model's first input and writes its first output, one line per image,
// comma-separated values formatted like C's "%.9g". A CSV file instead of a
// directory is read as petri reads one (the label, then C*H*W values a line)
// and its values are multiplied by SCALE (a number or a ratio such as 1/255;
// default 1, petri's default for CSV), giving a tensor [ROWS,C,H,W].
//
// onnxruntime-node is loaded from $PETRI_ORT_DIR/node_modules/onnxruntime-node
// when PETRI_ORT_DIR is set, else from build/ort/node_modules/onnxruntime-node
// in the repository; install it there with
//   npm install --ignore-scripts --prefix build/ort onnxruntime-node
// PETRI_ORT_THREADS sets ONNX Runtime's intra-op threads (default 1).
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function die(msg) {
  process.stderr.write('onnx_ort: ' + msg + '\n');
  process.exit(1);
}

function loadOrt() {
  const base = process.env.PETRI_ORT_DIR
    ? path.resolve(process.env.PETRI_ORT_DIR)
    : path.resolve(__dirname, '..', 'build', 'ort');
  const dir = path.join(base, 'node_modules', 'onnxruntime-node');
  try {
    return require(dir);
  } catch (e) {
    die('cannot load onnxruntime-node from ' + dir + ': ' + String(e.message).split('\n')[0] +
        '\n(install: npm install --ignore-scripts --prefix ' + base + ' onnxruntime-node)');
  }
}

// Parse a gzip IDX file of unsigned bytes: two zero bytes, type 0x08, the
// number of dimensions, then one big-endian uint32 per dimension.
function readIdx(file) {
  let buf;
  try {
    buf = zlib.gunzipSync(fs.readFileSync(file));
  } catch (e) {
    die(file + ': ' + e.message);
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) die(file + ': not an IDX file (bad magic)');
  if (buf[2] !== 0x08) die(file + ': IDX type 0x' + buf[2].toString(16) + ', expected 0x08 (unsigned byte)');
  const ndim = buf[3];
  if (ndim < 1 || buf.length < 4 + 4 * ndim) die(file + ': truncated IDX header');
  const dims = [];
  for (let i = 0; i < ndim; i++) dims.push(buf.readUInt32BE(4 + 4 * i));
  let total = 1;
  for (const d of dims) total *= d;
  const off = 4 + 4 * ndim;
  if (buf.length - off < total) {
    die(file + ': truncated IDX data (' + (buf.length - off) + ' of ' + total + ' bytes)');
  }
  return { dims, data: buf.subarray(off, off + total) };
}

// The first ROWS lines of a CSV data set (label, then C*H*W values) times
// scale, as float32 [ROWS,C,H,W]; the product is rounded to float32 as
// petri rounds it (value * (float)scale in float).
function readCsv(file, rows, shape, scaleArg) {
  const m = /^([0-9]+)x([0-9]+)x([0-9]+)$/.exec(shape);
  if (!m) die('shape must be CxHxW, got ' + shape);
  const c = +m[1], h = +m[2], w = +m[3];
  const r = /^([0-9.eE+-]+)(?:\/([0-9.eE+-]+))?$/.exec(scaleArg);
  const scale = r ? (r[2] ? Number(r[1]) / Number(r[2]) : Number(r[1])) : NaN;
  if (!(scale > 0) || !Number.isFinite(scale)) die('SCALE must be a positive number or ratio, got ' + scaleArg);
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    die(file + ': ' + e.message);
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (rows > lines.length) die('ROWS ' + rows + ' exceeds the ' + lines.length + ' rows of ' + file);
  const f = c * h * w, s32 = Math.fround(scale);
  const x = new Float32Array(rows * f);
  for (let i = 0; i < rows; i++) {
    const cells = lines[i].split(',');
    if (cells.length !== f + 1) die(file + ':' + (i + 1) + ': ' + (cells.length - 1) + ' values, ' + shape + ' wants ' + f);
    for (let k = 0; k < f; k++) x[i * f + k] = Math.fround(Number(cells[k + 1]) * s32);
  }
  return { x, dims: [rows, c, h, w] };
}

// C's printf("%.9g", v): 9 significant digits rounded half to even (as glibc
// does for exact ties), trailing zeros removed, exponent form when the
// decimal exponent is < -4 or >= 9, exponent with at least 2 digits.
// toExponential(100) gives the exact decimal digits of any float32 value of
// practical size, so ties are detected exactly.
function fmtG9(v) {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v < 0 ? '-inf' : 'inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const sign = v < 0 ? '-' : '';
  const s = Math.abs(v).toExponential(100);
  const k = s.indexOf('e');
  let x = parseInt(s.slice(k + 1), 10);
  const digits = s[0] + s.slice(2, k);
  let head = digits.slice(0, 9);
  const rest = digits.slice(9);
  let up = false;
  if (rest[0] > '5') up = true;
  else if (rest[0] === '5') up = /[1-9]/.test(rest.slice(1)) || (head.charCodeAt(8) - 48) % 2 === 1;
  if (up) {
    const d = head.split('');
    let i = 8;
    while (i >= 0 && d[i] === '9') d[i--] = '0';
    if (i >= 0) {
      d[i] = String.fromCharCode(d[i].charCodeAt(0) + 1);
      head = d.join('');
    } else {
      head = '100000000';
      x += 1;
    }
  }
  if (x < -4 || x >= 9) {
    const frac = head.slice(1).replace(/0+$/, '');
    const ax = Math.abs(x);
    return sign + head[0] + (frac ? '.' + frac : '') + 'e' + (x < 0 ? '-' : '+') + (ax < 10 ? '0' : '') + ax;
  }
  let ip, fp;
  if (x >= 0) {
    ip = head.slice(0, x + 1);
    fp = head.slice(x + 1);
  } else {
    ip = '0';
    fp = '0'.repeat(-x - 1) + head;
  }
  fp = fp.replace(/0+$/, '');
  return sign + ip + (fp ? '.' + fp : '');
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv.length < 4 || argv.length > 6 || (argv.length > 4) !== argv[1].endsWith('.csv')) {
    die('usage: node tests/onnx_ort.js MODEL.onnx DATADIR ROWS OUT.csv\n' +
        '       node tests/onnx_ort.js MODEL.onnx DATA.csv ROWS OUT.csv CxHxW [SCALE]');
  }
  const [model, dataDir, rowsArg, out, shapeArg] = argv;
  if (!/^[0-9]+$/.test(rowsArg) || parseInt(rowsArg, 10) < 1) die('ROWS must be a positive integer, got ' + rowsArg);
  const rows = parseInt(rowsArg, 10);
  if (!fs.existsSync(model)) die(model + ': no such file');

  let x, dims;
  if (argv.length > 4) {
    ({ x, dims } = readCsv(dataDir, rows, argv[4], argv.length > 5 ? argv[5] : '1'));
  } else {
    const idx = readIdx(path.join(dataDir, 't10k-images-idx3-ubyte.gz'));
    if (idx.dims.length !== 3 || idx.dims[1] !== 28 || idx.dims[2] !== 28) {
      die('test images have dims [' + idx.dims.join(',') + '], expected [N,28,28]');
    }
    if (rows > idx.dims[0]) die('ROWS ' + rows + ' exceeds the ' + idx.dims[0] + ' test images');
    const pix = 28 * 28;
    x = new Float32Array(rows * pix);
    for (let i = 0; i < rows * pix; i++) x[i] = idx.data[i] / 255;
    dims = [rows, 1, 28, 28];
  }

  const ort = loadOrt();
  const threads = parseInt(process.env.PETRI_ORT_THREADS || '1', 10);
  let session;
  try {
    session = await ort.InferenceSession.create(model, {
      intraOpNumThreads: threads > 0 ? threads : 1,
      interOpNumThreads: 1,
      executionProviders: ['cpu'],
    });
  } catch (e) {
    die(model + ': ONNX Runtime cannot load the model: ' + e.message);
  }
  const inName = session.inputNames[0];
  const outName = session.outputNames.indexOf('logits') >= 0 ? 'logits' : session.outputNames[0];
  const feeds = {};
  feeds[inName] = new ort.Tensor('float32', x, dims);
  let result;
  try {
    result = await session.run(feeds, [outName]);
  } catch (e) {
    die(model + ': ONNX Runtime failed to run the model: ' + e.message);
  }
  const y = result[outName];
  if (!y || y.type !== 'float32') die('output ' + outName + ' is not a float32 tensor');
  if (y.dims.length !== 2 || y.dims[0] !== rows) {
    die('output ' + outName + ' has dims [' + y.dims.join(',') + '], expected [' + rows + ',C]');
  }
  const cols = y.dims[1];
  const lines = [];
  for (let r = 0; r < rows; r++) {
    const vals = [];
    for (let c = 0; c < cols; c++) vals.push(fmtG9(y.data[r * cols + c]));
    lines.push(vals.join(','));
  }
  try {
    fs.writeFileSync(out, lines.join('\n') + '\n');
  } catch (e) {
    die(out + ': ' + e.message);
  }
  process.stdout.write(model + ': ' + rows + ' rows x ' + cols + ' logits -> ' + out +
                       ' (input ' + inName + ', output ' + outName + ')\n');
  if (typeof session.release === 'function') await session.release();
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
