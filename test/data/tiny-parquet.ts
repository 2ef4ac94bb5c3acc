/**
 * A minimal Parquet writer for test fixtures (hyparquet only reads): one row group, one
 * uncompressed PLAIN-encoded data page per column, REQUIRED columns of UTF-8 strings or
 * 64-bit integers — the shape of a Hugging Face dataset's parquet export (`text`, `label`).
 *
 * Layout: "PAR1" | per column: PageHeader + values | FileMetaData | u32 length | "PAR1".
 * Headers and metadata use Thrift's compact protocol.
 */

type ColumnValues = string[] | number[];

// Thrift compact protocol type ids.
const I32 = 5;
const I64 = 6;
const BINARY = 8;
const LIST = 9;
const STRUCT = 12;

/** A Thrift struct: fields as [id, type, value], in increasing id order. */
type ThriftField = [id: number, type: number, value: ThriftValue];
type ThriftValue = number | bigint | string | ThriftField[] | { listOf: number; items: ThriftValue[] };

class ByteSink {
  private readonly bytes: number[] = [];
  byte(b: number): void {
    this.bytes.push(b & 0xff);
  }
  raw(data: Uint8Array): void {
    for (const b of data) this.bytes.push(b);
  }
  varint(value: bigint): void {
    let v = value;
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }
  zigzag(value: bigint): void {
    this.varint(value >= 0n ? value << 1n : (-value << 1n) - 1n);
  }
  get length(): number {
    return this.bytes.length;
  }
  toUint8Array(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function writeValue(sink: ByteSink, type: number, value: ThriftValue): void {
  if (type === I32 || type === I64) sink.zigzag(BigInt(value as number | bigint));
  else if (type === BINARY) {
    const data = new TextEncoder().encode(value as string);
    sink.varint(BigInt(data.length));
    sink.raw(data);
  } else if (type === LIST) {
    const { listOf, items } = value as { listOf: number; items: ThriftValue[] };
    if (items.length < 15) sink.byte((items.length << 4) | listOf);
    else {
      sink.byte(0xf0 | listOf);
      sink.varint(BigInt(items.length));
    }
    for (const item of items) writeValue(sink, listOf, item);
  } else if (type === STRUCT) writeStruct(sink, value as ThriftField[]);
  else throw new Error(`thrift type ${type} not supported`);
}

function writeStruct(sink: ByteSink, fields: ThriftField[]): void {
  let last = 0;
  for (const [id, type, value] of fields) {
    const delta = id - last;
    if (delta < 1 || delta > 15) throw new Error('field ids must increase by 1..15');
    sink.byte((delta << 4) | type);
    writeValue(sink, type, value);
    last = id;
  }
  sink.byte(0); // stop
}

function encodeThrift(fields: ThriftField[]): Uint8Array {
  const sink = new ByteSink();
  writeStruct(sink, fields);
  return sink.toUint8Array();
}

function plainValues(values: ColumnValues): Uint8Array {
  const sink = new ByteSink();
  for (const v of values) {
    if (typeof v === 'string') {
      const data = new TextEncoder().encode(v);
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, data.length, true);
      sink.raw(len);
      sink.raw(data);
    } else {
      const cell = new Uint8Array(8);
      new DataView(cell.buffer).setBigInt64(0, BigInt(v), true);
      sink.raw(cell);
    }
  }
  return sink.toUint8Array();
}

/**
 * Encodes columns (all the same length) as a Parquet file. String columns become
 * BYTE_ARRAY/UTF8, number columns INT64.
 */
export function writeParquet(columns: Record<string, ColumnValues>): Uint8Array {
  const names = Object.keys(columns);
  const numRows = names.length > 0 ? columns[names[0]!]!.length : 0;
  for (const name of names) {
    if (columns[name]!.length !== numRows) throw new Error(`column ${name} has a different length`);
  }
  const out = new ByteSink();
  out.raw(new TextEncoder().encode('PAR1'));
  const chunks: ThriftField[][] = [];
  let totalBytes = 0;
  for (const name of names) {
    const values = columns[name]!;
    const isString = values.length > 0 ? typeof values[0] === 'string' : true;
    const data = plainValues(values);
    const header = encodeThrift([
      [1, I32, 0], // type: DATA_PAGE
      [2, I32, data.length], // uncompressed_page_size
      [3, I32, data.length], // compressed_page_size
      [
        5,
        STRUCT,
        [
          [1, I32, values.length], // num_values
          [2, I32, 0], // encoding: PLAIN
          [3, I32, 3], // definition_level_encoding: RLE
          [4, I32, 3], // repetition_level_encoding: RLE
        ],
      ],
    ]);
    const offset = out.length;
    out.raw(header);
    out.raw(data);
    const size = header.length + data.length;
    totalBytes += size;
    chunks.push([
      [2, I64, BigInt(offset)], // file_offset
      [
        3,
        STRUCT,
        [
          [1, I32, isString ? 6 : 2], // type: BYTE_ARRAY or INT64
          [2, LIST, { listOf: I32, items: [0, 3] }], // encodings: PLAIN, RLE
          [3, LIST, { listOf: BINARY, items: [name] }], // path_in_schema
          [4, I32, 0], // codec: UNCOMPRESSED
          [5, I64, BigInt(values.length)], // num_values
          [6, I64, BigInt(size)], // total_uncompressed_size
          [7, I64, BigInt(size)], // total_compressed_size
          [9, I64, BigInt(offset)], // data_page_offset
        ],
      ],
    ]);
  }
  const schema: ThriftValue[] = [
    [
      [4, BINARY, 'schema'],
      [5, I32, names.length],
    ],
    ...names.map((name): ThriftField[] => {
      const first = columns[name]![0];
      const isString = first === undefined || typeof first === 'string';
      return isString
        ? [
            [1, I32, 6], // BYTE_ARRAY
            [3, I32, 0], // REQUIRED
            [4, BINARY, name],
            [6, I32, 0], // converted_type: UTF8
          ]
        : [
            [1, I32, 2], // INT64
            [3, I32, 0], // REQUIRED
            [4, BINARY, name],
          ];
    }),
  ];
  const metadata = encodeThrift([
    [1, I32, 1], // version
    [2, LIST, { listOf: STRUCT, items: schema }],
    [3, I64, BigInt(numRows)],
    [
      4,
      LIST,
      {
        listOf: STRUCT,
        items: [
          [
            [1, LIST, { listOf: STRUCT, items: chunks }],
            [2, I64, BigInt(totalBytes)],
            [3, I64, BigInt(numRows)],
          ],
        ],
      },
    ],
    [6, BINARY, 'layercut tiny-parquet test writer'],
  ]);
  out.raw(metadata);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, metadata.length, true);
  out.raw(len);
  out.raw(new TextEncoder().encode('PAR1'));
  return out.toUint8Array();
}
