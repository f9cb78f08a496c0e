// Tensors as files, the two formats bnfold reads: NumPy .npy (v1-3,
// little-endian, C order) and serialized ONNX TensorProto (.pb).
// Only what the reference harness needs: dense numeric tensors.
'use strict';

const fs = require('fs');

// ONNX element type <-> npy descr <-> typed array. ONNX Runtime for Node takes
// float16 as raw Uint16Array bits.
const TYPES = [
  { onnx: 1, ort: 'float32', npy: ['<f4'], array: Float32Array },
  { onnx: 2, ort: 'uint8', npy: ['|u1', '<u1'], array: Uint8Array },
  { onnx: 3, ort: 'int8', npy: ['|i1', '<i1'], array: Int8Array },
  { onnx: 4, ort: 'uint16', npy: ['<u2'], array: Uint16Array },
  { onnx: 5, ort: 'int16', npy: ['<i2'], array: Int16Array },
  { onnx: 6, ort: 'int32', npy: ['<i4'], array: Int32Array },
  { onnx: 7, ort: 'int64', npy: ['<i8'], array: BigInt64Array },
  { onnx: 9, ort: 'bool', npy: ['|b1'], array: Uint8Array },
  { onnx: 10, ort: 'float16', npy: ['<f2'], array: Uint16Array },
  { onnx: 11, ort: 'float64', npy: ['<f8'], array: Float64Array },
  { onnx: 12, ort: 'uint32', npy: ['<u4'], array: Uint32Array },
  { onnx: 13, ort: 'uint64', npy: ['<u8'], array: BigUint64Array },
];

function typeBy(key, value) {
  const t = TYPES.find((e) => (Array.isArray(e[key]) ? e[key].includes(value) : e[key] === value));
  if (!t) throw new Error(`unsupported element type ${key}=${value}`);
  return t;
}

// A typed array over a copy of `bytes` (copy: the source may be unaligned).
function typedArray(type, bytes) {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (copy.length % type.array.BYTES_PER_ELEMENT !== 0) {
    throw new Error(`${copy.length} bytes is not a whole number of ${type.ort} elements`);
  }
  return new type.array(copy.buffer, 0, copy.length / type.array.BYTES_PER_ELEMENT);
}

function elementCount(dims) {
  return dims.reduce((a, b) => a * b, 1);
}

// ---------------------------------------------------------------- .npy

function headerField(header, key) {
  const m = header.match(new RegExp(`'${key}'\\s*:\\s*('[^']*'|\\([^)]*\\)|True|False)`));
  if (!m) throw new Error(`.npy header has no '${key}': ${header}`);
  return m[1];
}

function parseNpy(buf, what) {
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new Error(`${what}: not a .npy file`);
  }
  const major = buf[6];
  const [headerLen, start] = major === 1 ? [buf.readUInt16LE(8), 10] : [buf.readUInt32LE(8), 12];
  const header = buf.toString('latin1', start, start + headerLen);
  if (headerField(header, 'fortran_order') !== 'False') {
    throw new Error(`${what}: Fortran-ordered .npy is not supported`);
  }
  const descr = headerField(header, 'descr').slice(1, -1);
  const dims = headerField(header, 'shape').slice(1, -1).split(',')
    .map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const type = typeBy('npy', descr);
  const data = typedArray(type, buf.subarray(start + headerLen));
  if (data.length !== elementCount(dims)) {
    throw new Error(`${what}: ${data.length} elements for shape (${dims})`);
  }
  return { name: '', type: type.ort, dims, data };
}

function serializeNpy(type, dims, data) {
  const descr = typeBy('ort', type).npy[0];
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so that magic(6) + version(2) + length(2) + header + '\n' is a multiple of 64.
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), bytes]);
}

// ---------------------------------------------------------------- TensorProto

function readVarint(buf, pos) {
  let value = 0n;
  let shift = 0n;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[pos++];
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, pos];
    shift += 7n;
  }
}

// Fields of TensorProto we use: 1 dims, 2 data_type, 4 float_data,
// 5 int32_data, 7 int64_data, 8 name, 9 raw_data, 10 double_data.
function parseTensorProto(buf, what) {
  const dims = [];
  let dataType = 0;
  let name = '';
  let raw = null;
  const repeated = { 4: [], 5: [], 7: [], 10: [] };
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      if (field === 1) dims.push(Number(BigInt.asIntN(64, v)));
      else if (field === 2) dataType = Number(v);
      else if (field === 5 || field === 7) repeated[field].push(v);
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      const end = pos + Number(len);
      if (end > buf.length) throw new Error(`${what}: truncated field ${field}`);
      const body = buf.subarray(pos, end);
      if (field === 8) name = body.toString('utf8');
      else if (field === 9) raw = body;
      else if (field === 4) for (let p = 0; p < body.length; p += 4) repeated[4].push(body.readFloatLE(p));
      else if (field === 10) for (let p = 0; p < body.length; p += 8) repeated[10].push(body.readDoubleLE(p));
      else if (field === 1 || field === 5 || field === 7) {
        for (let p = 0; p < body.length;) {
          let v;
          [v, p] = readVarint(body, p);
          if (field === 1) dims.push(Number(BigInt.asIntN(64, v)));
          else repeated[field].push(v);
        }
      }
      pos = end;
    } else if (wire === 5) {
      if (field === 4) repeated[4].push(buf.readFloatLE(pos));
      pos += 4;
    } else if (wire === 1) {
      if (field === 10) repeated[10].push(buf.readDoubleLE(pos));
      pos += 8;
    } else {
      throw new Error(`${what}: unsupported wire type ${wire}`);
    }
  }
  const type = typeBy('onnx', dataType);
  let data;
  if (raw) {
    data = typedArray(type, raw);
  } else if (type.ort === 'float32') {
    data = Float32Array.from(repeated[4]);
  } else if (type.ort === 'float64') {
    data = Float64Array.from(repeated[10]);
  } else if (type.ort === 'int64') {
    data = BigInt64Array.from(repeated[7], (v) => BigInt.asIntN(64, v));
  } else if (type.array !== BigUint64Array) {
    // int32_data carries every narrow integer type, bool and float16 bits.
    data = type.array.from(repeated[5], (v) => Number(BigInt.asIntN(32, v)));
  } else {
    throw new Error(`${what}: ${type.ort} without raw_data is not supported`);
  }
  if (data.length !== elementCount(dims)) {
    throw new Error(`${what}: ${data.length} elements for dims [${dims}]`);
  }
  return { name, type: type.ort, dims, data };
}

function varint(value) {
  let v = BigInt.asUintN(64, BigInt(value));
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return Buffer.from(out);
}

function lengthDelimited(field, body) {
  return Buffer.concat([varint((field << 3) | 2), varint(body.length), body]);
}

function serializeTensorProto(name, type, dims, data) {
  const parts = dims.map((d) => Buffer.concat([varint(1 << 3), varint(d)]));
  parts.push(varint(2 << 3), varint(typeBy('ort', type).onnx));
  parts.push(lengthDelimited(8, Buffer.from(name, 'utf8')));
  parts.push(lengthDelimited(9, Buffer.from(data.buffer, data.byteOffset, data.byteLength)));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------- files

function readTensorFile(path) {
  const buf = fs.readFileSync(path);
  return path.endsWith('.npy') ? parseNpy(buf, path) : parseTensorProto(buf, path);
}

// Writes atomically, by the extension: .npy or TensorProto.
function writeTensorFile(path, name, type, dims, data) {
  const bytes = path.endsWith('.npy')
    ? serializeNpy(type, dims, data)
    : serializeTensorProto(name, type, dims, data);
  const tmp = `${path}.tmp${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, path);
}

module.exports = { readTensorFile, writeTensorFile, parseNpy, serializeNpy, parseTensorProto,
  serializeTensorProto };
