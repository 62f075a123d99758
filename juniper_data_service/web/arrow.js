// A reader of the Arrow IPC streams the service writes for one split: columns X and y
// (fixed-size lists of float32) and label (int32), no compression, little-endian.
// It reads just enough of the flatbuffer metadata (message header, record batch nodes
// and buffers) to find the X values and the labels; it is not a general Arrow reader.
const CONTINUATION = 0xffffffff;
const RECORD_BATCH = 3;

class Table {
  // A flatbuffer table at byte `pos` of `view`.
  constructor(view, pos) {
    this.view = view;
    this.pos = pos;
    this.vtable = pos - view.getInt32(pos, true);
    this.vsize = view.getUint16(this.vtable, true);
  }
  field(i) {
    const at = 4 + 2 * i;
    if (at >= this.vsize) return 0;
    const off = this.view.getUint16(this.vtable + at, true);
    return off ? this.pos + off : 0;
  }
  uint8(i, dflt = 0) {
    const p = this.field(i);
    return p ? this.view.getUint8(p) : dflt;
  }
  int64(i, dflt = 0) {
    const p = this.field(i);
    return p ? Number(this.view.getBigInt64(p, true)) : dflt;
  }
  table(i) {
    const p = this.field(i);
    return p ? new Table(this.view, p + this.view.getUint32(p, true)) : null;
  }
  // A vector of structs of two int64 each (FieldNode, Buffer): [[a, b], ...].
  pairs(i) {
    const p = this.field(i);
    if (!p) return [];
    const start = p + this.view.getUint32(p, true);
    const n = this.view.getUint32(start, true);
    const out = [];
    for (let k = 0; k < n; k++) {
      const at = start + 4 + 16 * k;
      out.push([Number(this.view.getBigInt64(at, true)), Number(this.view.getBigInt64(at + 8, true))]);
    }
    return out;
  }
}

// {n, nFeatures, X: Float32Array (row-major), labels: Int32Array} of a whole stream.
export function readSplit(buffer) {
  const view = new DataView(buffer);
  const batches = [];
  let pos = 0;
  while (pos + 4 <= buffer.byteLength) {
    let metaLength = view.getUint32(pos, true);
    pos += 4;
    if (metaLength === CONTINUATION) {
      metaLength = view.getInt32(pos, true);
      pos += 4;
    }
    if (metaLength === 0) break; // end of stream
    const message = new Table(view, pos + view.getUint32(pos, true));
    const bodyStart = pos + metaLength;
    const bodyLength = message.int64(3);
    if (message.uint8(1) === RECORD_BATCH) {
      const batch = message.table(2);
      const rows = batch.int64(0);
      const nodes = batch.pairs(1); // X, X.item, y, y.item, label
      const buffers = batch.pairs(2); // X: validity; X.item: validity, values; y: ...; label: validity, values
      if (nodes.length !== 5 || buffers.length !== 8) throw new Error("not a JuniperData split stream");
      const nFeatures = rows ? nodes[1][0] / rows : 0;
      const [xOff, xLen] = buffers[2];
      const [lOff] = buffers[7];
      batches.push({
        rows,
        nFeatures,
        X: new Float32Array(buffer.slice(bodyStart + xOff, bodyStart + xOff + xLen)).subarray(0, rows * nFeatures),
        labels: new Int32Array(buffer.slice(bodyStart + lOff, bodyStart + lOff + 4 * rows)),
      });
    }
    pos = bodyStart + bodyLength;
  }
  const n = batches.reduce((s, b) => s + b.rows, 0);
  const nFeatures = batches.find((b) => b.rows)?.nFeatures ?? 0;
  const X = new Float32Array(n * nFeatures);
  const labels = new Int32Array(n);
  let row = 0;
  for (const b of batches) {
    X.set(b.X, row * nFeatures);
    labels.set(b.labels, row);
    row += b.rows;
  }
  return { n, nFeatures, X, labels };
}
